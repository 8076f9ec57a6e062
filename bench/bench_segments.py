"""Segments and lists on benchmark-scale data (the segments performance targets).

PostgreSQL only. Uses BENCH_SEGMENTS_DB (default `loyalty_bench`), a database made by
`manage.py generate_load_data` (customers with events, lots, balances and transactions). It is
migrated first; `prepare()` then gives it what segments read and the generator does not write:
a tier structure with tiers assigned by score (CustomerTier and Customer.tier), and labels on a
tenth of the customers, all set-based SQL (idempotent).

Measured (median of BENCH_REPEAT runs after a warm-up, in ms unless said otherwise):

- live count (`segments.building.preview`: capped count + sample) of a 4-condition segment over
  attributes, tier and balance; and of the same plus an event-history aggregate;
- full build (`rebuild` from empty) of each, next to the bare `INSERT ... SELECT` of the same
  predicate into an unindexed (logged) scratch table in the same run (the ratio is the build's overhead:
  membership index, NOT EXISTS against current members, the "left" UPDATE, the count);
- "is customer C in segment S" and "segments of customer C" (per call, over 1,000 customers);
- the console customer list filtered by a segment (one request through the whole Django stack);
- bulk list add (`segments.tasks.run_bulk` through `events.sets`, one customer_list_add event per
  customer) of BENCH_BULK customers (default 100,000): customers per second, next to
  `register_event` one customer at a time (BENCH_ONE_BY_ONE, default 300) in the same run.

Run: `DATABASE_URL=postgres://... BENCH_SEGMENTS_DB=mydb python -m bench bench_segments`.
"""

from __future__ import annotations

import os
import statistics
import time

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client

SEGMENT_4 = {
    "match": "all",
    "conditions": [
        {"field": "country", "operator": "in", "value": "DE,AT,HU"},
        {"field": "score", "operator": "ge", "value": "200"},
        {"field": "tier.bench", "operator": "in", "value": "silver,gold"},
        {"field": "balance.points.spendable", "operator": "gt", "value": "50"},
    ],
}
SEGMENT_EVENTS = {
    "match": "all",
    "conditions": [
        *SEGMENT_4["conditions"],
        {"field": "events.login.90d", "operator": "ge", "value": "1"},
    ],
}


def _use_database(name: str) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict["NAME"] = name
    cache.clear()


def _median(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _time(fn, repeat: int) -> tuple[float, float, object]:
    fn()  # warm-up
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return _median(samples), max(samples) * 1000, result


def prepare() -> None:
    """Tiers by score and labels, set-based and idempotent; the Segments module on; VACUUM ANALYZE."""
    from customers.models import Label
    from loyalty.models import Program, Tier, TierStructure

    program = Program.current()
    program.segments = True
    program.save()
    structure, _ = TierStructure.objects.get_or_create(code="bench", defaults={"name": "Bench tiers"})
    tiers = {}
    for code, threshold in (("bronze", 0), ("silver", 300), ("gold", 1500)):
        tiers[code], _ = Tier.objects.get_or_create(
            structure=structure, code=code, defaults={"name": code.title(), "threshold": threshold}
        )
    vip, _ = Label.objects.get_or_create(name="bench-vip")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loyalty_customertier (customer_id, structure_id, tier_id, since, tier_points, "
            "points_after_expiration, locked) "
            "SELECT c.id, %s, CASE WHEN c.score >= 1500 THEN %s WHEN c.score >= 300 THEN %s ELSE %s END, "
            "c.created_at, c.score, 0, false FROM customers_customer c "
            "WHERE NOT EXISTS (SELECT 1 FROM loyalty_customertier t WHERE t.customer_id = c.id AND t.structure_id = %s)",
            [structure.pk, tiers["gold"].pk, tiers["silver"].pk, tiers["bronze"].pk, structure.pk],
        )
        cursor.execute(
            "UPDATE customers_customer c SET tier_id = t.tier_id FROM loyalty_customertier t "
            "WHERE t.customer_id = c.id AND t.structure_id = %s AND c.tier_id IS DISTINCT FROM t.tier_id",
            [structure.pk],
        )
        cursor.execute(
            "INSERT INTO customers_customer_labels (customer_id, label_id) SELECT c.id, %s "
            "FROM customers_customer c WHERE c.id %% 10 = 0 ON CONFLICT DO NOTHING",
            [vip.pk],
        )
        for table in (
            "customers_customer",
            "events_event",
            "loyalty_customertier",
            "loyalty_pointbalance",
            "customers_customer_labels",
            "transactions_transaction",
        ):
            # VACUUM as autovacuum would after a bulk load: index-only scans need the visibility map.
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def bare_insert_select(tree) -> tuple[float, int]:
    """The same predicate as the build, INSERT ... SELECT into a scratch table of the membership
    table's shape: a regular (logged) table, without indexes (s, rows)."""
    from segments.building import _select_sql, no_jit
    from segments.conditions import make_context, parse_tree

    sql, params = _select_sql(parse_tree(tree), make_context())
    with transaction.atomic(), connection.cursor() as cursor:
        no_jit()  # the build's planner settings (JIT off, work_mem): the same plan, a fair ratio
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scratch (segment_id bigint, customer_id bigint, "
            "entered_at timestamptz, left_at timestamptz)"
        )
        cursor.execute("TRUNCATE bench_scratch")
        started = time.perf_counter()
        cursor.execute(f"INSERT INTO bench_scratch SELECT 0, m.member_id, now(), NULL FROM ({sql}) m", params)
        elapsed = time.perf_counter() - started
        rows = cursor.rowcount
    return elapsed, rows


def fresh_build(name: str, tree) -> tuple[float, int]:
    from segments.building import rebuild
    from segments.models import Segment, SegmentMember

    Segment.objects.filter(name=name).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM segments_segmentmember")  # the deleted members, as autovacuum would
    segment = Segment.objects.create(name=name, conditions=tree)
    started = time.perf_counter()
    rebuild(segment)
    elapsed = time.perf_counter() - started
    return elapsed, SegmentMember.objects.filter(segment=segment, left_at__isnull=True).count()


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_segments: needs PostgreSQL (DATABASE_URL); skipped")
        return
    name = os.environ.get("BENCH_SEGMENTS_DB", "loyalty_bench")
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    bulk = int(os.environ.get("BENCH_BULK", "100000"))
    _use_database(name)
    call_command("migrate", verbosity=0)
    prepare()

    from django.contrib.auth.models import User

    from customers.models import Customer
    from events.models import Event
    from loyalty.roles import sync_roles
    from segments.building import is_member, preview, rebuild, segments_of
    from segments.models import CustomerList, CustomerListMember, Segment

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        customers = cursor.fetchone()[0]
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'events_event'")
        events = cursor.fetchone()[0]
    print(f"database {name}: {customers:,} customers, ~{events:,} events (NOT the 1M / 20M database)")

    for label, tree in (("4 conditions", SEGMENT_4), ("4 conditions + event history", SEGMENT_EVENTS)):
        median, worst, result = _time(lambda tree=tree: preview(tree, "live"), repeat)
        print(
            f"live count, {label}: median {median:.0f} ms, worst {worst:.0f} ms ({result['count']:,} customers)"
        )

    for label, tree in (("4 conditions", SEGMENT_4), ("4 conditions + event history", SEGMENT_EVENTS)):
        builds, bares = [], []
        members = 0
        for _ in range(max(3, repeat // 2)):
            bare, bare_rows = bare_insert_select(tree)
            build, members = fresh_build(f"bench {label}", tree)
            bares.append(bare)
            builds.append(build)
        build_ms, bare_ms = _median(builds), _median(bares)
        print(
            f"full build, {label}: {build_ms:.0f} ms for {members:,} members; bare INSERT…SELECT "
            f"{bare_ms:.0f} ms ({bare_rows:,} rows); ratio {build_ms / bare_ms:.2f}x"
        )
        segment = Segment.objects.get(name=f"bench {label}")
        median, _, _ = _time(lambda segment=segment: rebuild(segment), repeat)
        print(f"rebuild with no changes, {label}: median {median:.0f} ms")

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE segments_segmentmember")  # as autovacuum would after the builds
    segment = Segment.objects.get(name="bench 4 conditions")
    pks = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:1000])
    started = time.perf_counter()
    for pk in pks:
        is_member(pk, segment.pk)
    per_member = (time.perf_counter() - started) / len(pks) * 1000
    started = time.perf_counter()
    for pk in pks:
        segments_of(pk)
    per_segments = (time.perf_counter() - started) / len(pks) * 1000
    print(f"is member: {per_member:.2f} ms per call; segments of a customer: {per_segments:.2f} ms per call")

    sync_roles()
    user, _ = User.objects.get_or_create(
        username="bench-segments", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    plain, _, response = _time(lambda: client.get("/customers/"), repeat)
    assert response.status_code == 200, response.status_code
    url = f"/customers/?segment={segment.pk}"
    median, worst, response = _time(lambda: client.get(url), repeat)
    assert response.status_code == 200, response.status_code
    print(
        f"customer list filtered by the segment: median {median:.0f} ms, worst {worst:.0f} ms (budget 150 ms); "
        f"unfiltered list {plain:.0f} ms in the same run: ratio {median / plain:.2f}x"
    )

    if bulk <= 0:
        return
    from events.engine import register_event
    from segments.bulk import queue_bulk
    from segments.tasks import run_bulk

    refs = list(
        Customer.objects.filter(environment="live", anonymized_at__isnull=True)
        .exclude(status__in=["banned", "opted_out"])
        .order_by("id")
        .values_list("customer_id", flat=True)[: bulk + ONE_BY_ONE]
    )
    # The engine one event at a time, for the ratio: the same action on other customers.
    CustomerList.objects.filter(name__in=["bench bulk", "bench one by one"]).delete()
    single = CustomerList.objects.create(name="bench one by one")
    started = time.perf_counter()
    for ref in refs[bulk:]:
        register_event(environment="live", customer=ref, action="customer_list_add", data={"list": single.pk})
    per_event = len(refs[bulk:]) / (time.perf_counter() - started)
    customer_list = CustomerList.objects.create(name="bench bulk")
    operation = queue_bulk(customer_list, "customer_add", refs[:bulk], environment="live", source="api")
    started = time.perf_counter()
    run_bulk(operation.pk)
    elapsed = time.perf_counter() - started
    operation.refresh_from_db()
    added = CustomerListMember.objects.filter(customer_list=customer_list).count()
    members = CustomerListMember.objects.filter(customer_list=customer_list).values("event_id")
    events = Event.objects.filter(pk__in=members, action="customer_list_add").count()
    rate = bulk / elapsed
    print(
        f"bulk list add (events.sets, one event per customer): {bulk:,} customers in {elapsed:.1f} s = "
        f"{rate:,.0f} customers/s ({added:,} added, {events:,} events, {operation.number_of_errors} errors; "
        f"target 5,000/s); register_event one by one: {per_event:,.0f}/s ({ONE_BY_ONE} customers); "
        f"ratio {rate / per_event:.0f}x"
    )


ONE_BY_ONE = int(os.environ.get("BENCH_ONE_BY_ONE", "300"))


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    run()
