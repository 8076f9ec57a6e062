"""The dashboard: a full rebuild of the rollups, the incremental rollup of one day's events, and the
home page's server time for 30 days, a year and three years — beside what a page computing the
same figures straight from the events would cost.

PostgreSQL only. Uses the current database (DATABASE_URL) unless BENCH_DASHBOARD_DB names another;
fill it with `manage.py seed_demo --customers 0` then `manage.py generate_load_data --customers N`.
BENCH_DAY_EVENTS (default 30,000) is the size of "one day's events" (the issue's day at 20M events
over two years); BENCH_REPEAT (default 7) runs per page after a warm-up.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

BUDGET_MS = 150


class Rollback(Exception):
    pass


def _use_database(name: str | None) -> None:
    if name:
        conn = connections["default"]
        conn.close()
        conn.settings_dict["NAME"] = name
    cache.clear()


def _page(client: Client, url: str, repeat: int) -> tuple[float, float, int, float, float]:
    """(median ms, max ms, queries, SQL ms, median CPU ms of this process per request)."""
    assert client.get(url).status_code == 200, url
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    return statistics.median(times), max(times), len(queries), sql_ms, statistics.median(cpu)


def _one_day(day_events: int) -> tuple[float, int, int, int]:
    """Roll up the newest `day_events` events by time (the last days of the generated history) and
    their ledger entries, as the task would after a day of that size; rolled back, so the rollups
    stay right. Returns (seconds, events, entries, days touched)."""
    from django.db.models import Q

    from dashboard.rollups import Tally, count_entries, count_events, write
    from events.models import Event

    since = (
        Event.objects.filter(environment="live")
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)[day_events - 1 : day_events]
        .first()
    )
    started = time.perf_counter()
    try:
        with transaction.atomic():
            tally = Tally()
            count_events(tally, 0, 2**62, Q(environment="live", timestamp__gte=since))
            count_entries(tally, 0, 2**62, Q(event__environment="live", event__timestamp__gte=since))
            events = sum(v[0] for k, v in tally.figures.items() if k[2] in ("enrolled", "purchases"))
            days = len({k[1] for k in tally.figures})
            write(tally)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed, day_events, events, days


def _direct_year_sql() -> float:
    """What the page would run without rollups: the year's events counted per day and action."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('day', effective_at), action, count(*), count(DISTINCT customer_id) "
            "FROM events_event WHERE environment = 'live' AND effective_at >= now() - interval '365 days' "
            "GROUP BY 1, 2"
        )
        cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_dashboard: needs PostgreSQL (DATABASE_URL); skipped")
        return
    _use_database(os.environ.get("BENCH_DASHBOARD_DB"))
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    day_events = int(os.environ.get("BENCH_DAY_EVENTS", "30000"))

    from django.contrib.auth.models import User

    from dashboard.models import ActiveMemberSketch, DailyFigure
    from dashboard.rollups import rebuild_rollups
    from loyalty import clock
    from loyalty.roles import sync_roles

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'customers_customer'")
        customers = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events_event'")
        events = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'loyalty_ledgerentry'")
        entries = cursor.fetchone()[0]
    print(
        f"database {connection.settings_dict['NAME']}: ~{customers:,} customers, ~{events:,} events, "
        f"~{entries:,} ledger entries"
    )

    # On a shared database that already has rollups the rebuild is timed and rolled back (it
    # would only write the same figures again); otherwise its figures are kept for the page.
    keep = not DailyFigure.objects.exists()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    started = time.perf_counter()
    try:
        with transaction.atomic():
            result = rebuild_rollups()
            rebuild = time.perf_counter() - started
            figures, sketches = DailyFigure.objects.count(), ActiveMemberSketch.objects.count()
            if not keep:
                raise Rollback
    except Rollback:
        pass
    print(
        f"full rebuild: {result['events']:,} events in {rebuild:.1f} s ({result['events'] / rebuild:,.0f} events/s); "
        f"{figures:,} daily figures, {sketches:,} active-member sketches"
        + ("" if keep else " (rolled back: the database had rollups)")
    )
    seconds, n_events, _, days = _one_day(day_events)
    print(
        f"one day's rollup: the newest {n_events:,} events and their ledger entries (over {days} days) "
        f"in {seconds:.2f} s (budget 5 s)"
    )

    sync_roles()
    user, _ = User.objects.get_or_create(username="bench-dashboard", defaults={"is_superuser": True})
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    print(f"{'page':34} {'median ms':>10} {'max ms':>8} {'queries':>8} {'sql ms':>7} {'cpu ms':>7}")
    baseline, *_, baseline_cpu = _page(client, "/password/", repeat)
    print(f"{'password page (baseline)':34} {baseline:10.1f} {'':8} {'':8} {'':7} {baseline_cpu:7.1f}")
    over = []
    today = clock.now().astimezone(clock.zone()).date()
    for label, query in (
        ("dashboard: 30 days (default)", ""),
        ("dashboard: 365 days", "?start={a}&end={b}"),
        ("dashboard: 3 years", "?start={c}&end={b}"),
    ):
        url = "/" + query.format(
            a=today - dt.timedelta(days=364), b=today, c=today - dt.timedelta(days=3 * 366 - 1)
        )
        median, worst, queries, sql_ms, cpu = _page(client, url, repeat)
        if median > BUDGET_MS:
            over.append(label)
        print(
            f"{label:34} {median:10.1f} {worst:8.1f} {queries:8d} {sql_ms:7.0f} {cpu:7.1f}"
            f"   {median / baseline:.1f}x baseline (cpu {cpu / baseline_cpu:.1f}x)"
        )
    direct = _direct_year_sql()
    print(f"for comparison, one direct count of a year's events per day and action: {direct:.0f} ms")
    print("all within budget" if not over else f"over budget ({BUDGET_MS} ms): {', '.join(over)}")


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    run()
