"""The customer list's search box on a large database: server time of `/customers/?q=...` for the
kinds of query people type (part of a name, of an e-mail, an exact ID, accents left out, two
letters, no match), with the SQL time and the plan's index use.

PostgreSQL only (the trigram indexes of customers migration 0007). Uses the current database unless
BENCH_SEARCH_DB names another. `python -m bench.bench_search fill N` first grows it to N customers
with bench_console's set-based filler (plain customers without history). BENCH_REPEAT runs per
query after a warm-up (default 7); the budget is 150 ms (the console's page budget). Each line
gives the wall-clock median, the CPU time of this process per request (the server's Python work;
the machine is shared, so wall times drift) and the ratio to a trivial page (/password/) measured
in the same run. The customer list is also measured unfiltered, with two conditions and with a
segment (the largest active one, when the database has one).
"""

from __future__ import annotations

import os
import statistics
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

BUDGET_MS = 150


def _use_database(name: str | None) -> None:
    if name:
        conn = connections["default"]
        conn.close()
        conn.settings_dict["NAME"] = name
    cache.clear()


def _measure(client: Client, url: str, repeat: int) -> tuple[float, float, float, int, float, int]:
    """(median ms, max ms, median CPU ms, queries, SQL ms, rows shown)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    table = response.context.get("table") if response.context else None
    rows = len(table.data) if table is not None else -1
    return statistics.median(times), max(times), statistics.median(cpu), len(queries), sql_ms, rows


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_search: needs PostgreSQL (DATABASE_URL); skipped")
        return
    _use_database(os.environ.get("BENCH_SEARCH_DB"))
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))

    from django.contrib.auth.models import User

    from customers.models import Customer
    from loyalty.roles import sync_roles

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SELECT count(*) FROM customers_customer WHERE environment = 'live'")
        customers = cursor.fetchone()[0]
    sample = (
        Customer.objects.filter(environment="live")
        .exclude(email="")
        .order_by("-id")[min(customers - 1, customers // 3) : min(customers, customers // 3 + 1)]
        .first()
    )
    assert sample is not None, "no customers: fill the database first"
    print(f"database {connection.settings_dict['NAME']}: {customers:,} live customers; {repeat} runs each")
    sync_roles()
    user, _ = User.objects.get_or_create(username="bench-search", defaults={"is_superuser": True})
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    local = sample.email.split("@")[0]
    domain = sample.email.split("@")[-1].split(".")[0] or "example"
    from segments.models import SegmentMember, Status

    segment = (
        SegmentMember.objects.filter(left_at__isnull=True, segment__status=Status.ACTIVE)
        .values("segment_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    lists = [
        ("list: no filter", ""),
        ("list: two conditions", "f=status:in:active&f=spendable:ge:100"),
        ("list: sorted by name", "sort=name"),
    ]
    if segment:
        lists.append((f"list: segment of {segment['n']:,}", f"segment={segment['segment_id']}"))
    queries = [
        ("exact customer ID", sample.customer_id),
        ("part of a customer ID", sample.customer_id[-6:]),
        ("whole e-mail", sample.email),
        ("part of an e-mail", local[1:]),
        ("first and last name", f"{sample.first_name} {sample.last_name}".strip() or local),
        ("common first name (many hits)", sample.first_name or "anna"),
        ("simon", "simon"),
        ("smith", "smith"),
        (f"e-mail domain fragment ({domain})", domain),
        ("accent left out (muller ~ Müller)", "muller"),
        ("case differs (SMITH)", "SMITH"),
        ("two letters (below trigram size)", "an"),
        ("no match", "zzqxj-nobody"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    header = (
        f"{'page':40} {'median ms':>10} {'max ms':>8} {'cpu ms':>7} {'queries':>8} {'sql ms':>7} {'rows':>5}"
    )
    print(header)
    baseline, _, baseline_cpu, *_ = _measure(client, "/password/", repeat)
    print(f"{'trivial page (/password/)':40} {baseline:10.1f} {'':8} {baseline_cpu:7.1f}")
    over = []
    pages = [(label, "/customers/" + (f"?{query}" if query else "")) for label, query in lists]
    pages += [(f"search: {label}", "/customers/?" + urlencode({"q": text})) for label, text in queries]
    for label, url in pages:
        median, worst, cpu, n, sql_ms, rows = _measure(client, url, repeat)
        if median > BUDGET_MS:
            over.append(label)
        print(
            f"{label[:40]:40} {median:10.1f} {worst:8.1f} {cpu:7.1f} {n:8d} {sql_ms:7.0f} {rows:5d}"
            f"   {median / baseline:.1f}x trivial (cpu {cpu / baseline_cpu:.1f}x)"
        )
    print("all within budget" if not over else f"over budget ({BUDGET_MS} ms): {', '.join(over)}")


if __name__ == "__main__":
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    if sys.argv[1:2] == ["fill"]:
        from bench.bench_console import fill

        os.environ.setdefault("BENCH_CONSOLE_DB", connections["default"].settings_dict["NAME"])
        fill(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000, 0)
    else:
        run()
