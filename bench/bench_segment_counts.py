"""Live counts with event-history conditions: this code's SQL and indexes against the previous
ones (a GROUP BY over the window, `max()` over every event of the action, the index
event_customer_action without effective_at), in the same run on the same database.

PostgreSQL only, on a database prepared by bench_segments (tier structure `bench`). The "before"
side runs in a transaction that drops event_customer_action_time and builds the previous
event_customer_action (about 5 s per million events), then rolls back: use a database of your own
(BENCH_SEGMENTS_DB), never a shared one (it holds an exclusive lock on the events meanwhile).

The editor's count is capped (segments.building.COUNT_CAP, 100,000): at 1M customers a segment
of half of them stops after a tenth of the customers. BENCH_COUNT_CAP (default: 100,000 scaled to
the database, 10,000 at 100,000 customers) keeps that proportion on a smaller database.

Run: `DATABASE_URL=postgres://.../mydb BENCH_SEGMENTS_DB=mydb python -m bench bench_segment_counts`.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q

from bench.bench_segments import SEGMENT_4, _cpu, _load, _median, _use_database

CONDITIONS = {
    "login at least once in 90 days": {"field": "events.login.90d", "operator": "ge", "value": "1"},
    "login at least 3 times in 90 days": {"field": "events.login.90d", "operator": "ge", "value": "3"},
    "last login more than 30 days ago": {
        "field": "last_event.login",
        "operator": "days_ago_gt",
        "value": "30",
    },
}
PREVIOUS_INDEX = (
    "CREATE INDEX event_customer_action ON events_event (customer_id, action, id DESC)",
    "DROP INDEX event_customer_action_time",
)


def previous_q(condition: dict, now) -> Q:
    """The previous compilation of the three conditions: a GROUP BY over the window (counts), a
    max() grouped over every event of the action (last event)."""
    from events.models import Event

    rows = Event.objects.filter(customer__isnull=False, action="login")
    if condition["field"] == "events.login.90d":
        rows = rows.filter(effective_at__gte=now - dt.timedelta(days=90))
        if condition["value"] == "1":
            return Q(pk__in=rows.values("customer_id"))
        grouped = rows.values("customer_id").annotate(v=Count("*")).order_by()
        return Q(pk__in=grouped.filter(v__gte=int(condition["value"])).values("customer_id"))
    grouped = rows.values("customer_id").annotate(v=Max("effective_at")).order_by()
    return Q(pk__in=grouped.filter(v__lt=now - dt.timedelta(days=30)).values("customer_id"))


def _count(qs, cap: int) -> int:
    from segments.building import no_jit

    no_jit()
    return qs.order_by().values("pk")[: cap + 1].count()


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_segment_counts: needs PostgreSQL (DATABASE_URL); skipped")
        return
    _use_database(os.environ.get("BENCH_SEGMENTS_DB", "loyalty_bench"))
    from customers.models import Customer
    from segments.building import matching_customers
    from segments.conditions import available_attributes, compile_tree, make_context

    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    customers = Customer.objects.count()
    cap = int(os.environ.get("BENCH_COUNT_CAP", max(1000, 100_000 * customers // 1_000_000)))
    print(f"{customers:,} customers, count cap {cap:,}; {_load()}")
    ctx = make_context()
    for label, condition in CONDITIONS.items():
        tree = {"match": "all", "conditions": [*SEGMENT_4["conditions"], condition]}
        now_qs = matching_customers(tree, "live")
        base = matching_customers(SEGMENT_4, "live")
        before_qs = base.filter(previous_q(condition, ctx.now))
        compile_tree(tree, available_attributes())
        figures = {}
        for side in ("now", "before"):
            with transaction.atomic():
                if side == "before":
                    with connection.cursor() as cursor:
                        for statement in PREVIOUS_INDEX:
                            cursor.execute(statement)
                qs = now_qs if side == "now" else before_qs
                count = _count(qs, cap)  # warm-up
                samples, cpu = [], _cpu()
                for _ in range(repeat):
                    started = time.perf_counter()
                    count = _count(qs, cap)
                    samples.append(time.perf_counter() - started)
                figures[side] = (_median(samples), (_cpu() - cpu) / repeat * 1000, count)
                transaction.set_rollback(True)
        (now_ms, now_cpu, n), (before_ms, before_cpu, m) = figures["now"], figures["before"]
        assert min(n, cap + 1) == min(m, cap + 1), (n, m)
        print(
            f"capped count, 4 conditions + {label}: {now_ms:.0f} ms (CPU {now_cpu:.0f} ms) vs before "
            f"{before_ms:.0f} ms (CPU {before_cpu:.0f} ms): {before_ms / now_ms:.2f}x faster, "
            f"{before_cpu / now_cpu:.2f}x less CPU ({min(n, cap):,}{'+' if n > cap else ''} customers); {_load()}"
        )


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    run()
