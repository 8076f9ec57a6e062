"""Segments and lists on benchmark-scale data (the segments performance targets).

PostgreSQL only. Uses BENCH_SEGMENTS_DB (default `loyalty_bench`), a database made by
`manage.py generate_load_data` (customers with events, lots, balances and transactions). It is
never migrated unless BENCH_MIGRATE=1 (a shared database is migrated by name only); `prepare()`
then gives it what segments read and the generator does not write: a tier structure with tiers
assigned by score (CustomerTier; Customer.tier too unless BENCH_SEGMENTS_TIER_COLUMN=0), and labels
on a tenth of the customers, all set-based SQL (idempotent), then VACUUM ANALYZE as autovacuum
would after a bulk load.

Measured (median of BENCH_REPEAT runs after a warm-up, in ms unless said otherwise), each with the
CPU it used (this process + its PostgreSQL backend, read from /proc) and the load average, since
wall times on a shared machine drift:

- live count (`segments.building.preview`: capped count + sample) of a 4-condition segment over
  attributes, tier and balance; and of the same plus an event-history aggregate;
- full build (`rebuild` from empty) of each, next to the bare `INSERT ... SELECT` of the same
  predicate, with the same planner settings, into an unindexed (logged) scratch table in the same
  run (the ratio is the build's overhead: the membership indexes, the segment row, ANALYZE);
- "is customer C in segment S" and "segments of customer C" (per call, over 1,000 customers);
- the console customer list unfiltered, filtered by the segment (default and name order) and the
  segment's members page (one request each through the whole Django stack);
- bulk list add, then remove, (`segments.tasks.run_bulk` through `events.sets`, one event per
  customer) of BENCH_BULK customers (default 100,000, from BENCH_BULK_OFFSET in ID order):
  customers per second and per CPU second, next to `register_event` one customer at a time
  (BENCH_ONE_BY_ONE, default 300) in the same run. The remove rewrites customer rows the add has
  just rewritten (room on their pages: HOT updates); the add's rows come from a bulk load.

Run: `DATABASE_URL=postgres://... BENCH_SEGMENTS_DB=mydb python -m bench bench_segments`.
"""

from __future__ import annotations

import os
import resource
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
        if os.environ.get("BENCH_SEGMENTS_TIER_COLUMN", "1") == "1":
            # Customer.tier (the list's tier column); segment conditions read CustomerTier. Off on a
            # shared database: it rewrites every customer row.
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
            # VACUUM as autovacuum would after a bulk load: index-only scans need the visibility map
            # (BENCH_SEGMENTS_VACUUM=0: ANALYZE only, when there is no time to read 20M events).
            vacuum = os.environ.get("BENCH_SEGMENTS_VACUUM", "1") == "1"
            cursor.execute(f"VACUUM (ANALYZE) {table}" if vacuum else f"ANALYZE {table}")


def bare_insert_select(tree) -> tuple[float, int]:
    """The same predicate as the build, INSERT ... SELECT into a scratch table of the membership
    table's shape: a regular (logged) table, without indexes (s including the commit, rows)."""
    from segments.building import _select_sql, no_jit
    from segments.conditions import make_context, parse_tree

    sql, params = _select_sql(parse_tree(tree), make_context())
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scratch (segment_id bigint, customer_id bigint, "
            "entered_at timestamptz, left_at timestamptz)"
        )
        cursor.execute("TRUNCATE bench_scratch")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        no_jit()  # the build's planner settings (JIT off, work_mem): the same plan, a fair ratio
        cursor.execute(f"INSERT INTO bench_scratch SELECT 0, m.member_id, now(), NULL FROM ({sql}) m", params)
        rows = cursor.rowcount
    return time.perf_counter() - started, rows


def bare_insert_into_members(tree) -> float:
    """The build's own statement alone, into the membership table with its indexes (for a segment
    ID no segment has), rolled back: what the build's machinery adds is the rest (s)."""
    from segments.building import _select_sql, no_jit
    from segments.conditions import make_context, parse_tree

    sql, params = _select_sql(parse_tree(tree), make_context())
    with transaction.atomic(), connection.cursor() as cursor:
        no_jit()
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO segments_segmentmember (segment_id, customer_id, entered_at, left_at) "
            f"SELECT -1, m.member_id, now(), NULL FROM ({sql}) m",
            params,
        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


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


def _cpu() -> float:
    """CPU seconds used so far by this process and by its PostgreSQL backend (/proc: the server
    runs on this machine): the work of a measurement, whatever the machine's load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = 0.0
    return usage.ru_utime + usage.ru_stime + backend


def _load() -> str:
    return "load average " + " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _pending_migrations() -> list:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def run() -> None:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print("bench_segments: needs PostgreSQL (DATABASE_URL); skipped")
        return
    name = os.environ.get("BENCH_SEGMENTS_DB", "loyalty_bench")
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    bulk = int(os.environ.get("BENCH_BULK", "100000"))
    _use_database(name)
    # A shared database is never migrated by a benchmark (BENCH_MIGRATE=1 to allow it).
    pending = _pending_migrations()
    if pending and os.environ.get("BENCH_MIGRATE") != "1":
        print(
            f"bench_segments: {len(pending)} migrations not applied to {name} (BENCH_MIGRATE=1 applies them); skipped"
        )
        return
    if pending:
        call_command("migrate", verbosity=0)
    started = time.perf_counter()
    prepare()
    print(f"prepare (tiers, labels, VACUUM ANALYZE): {time.perf_counter() - started:.0f} s")

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
    print(f"database {name}: {customers:,} customers, ~{events:,} events; {_load()}")

    for label, tree in (("4 conditions", SEGMENT_4), ("4 conditions + event history", SEGMENT_EVENTS)):
        cpu = _cpu()
        median, worst, result = _time(lambda tree=tree: preview(tree, "live"), repeat)
        cpu = (_cpu() - cpu) / (repeat + 1) * 1000
        print(
            f"live count, {label}: median {median:.0f} ms, worst {worst:.0f} ms, CPU {cpu:.0f} ms per count "
            f"({result['count']:,}{'+' if result['capped'] else ''} customers); {_load()}"
        )

    for label, tree in (("4 conditions", SEGMENT_4), ("4 conditions + event history", SEGMENT_EVENTS)):
        builds, bares, transactions, indexed = [], [], [], []
        members = 0
        for _ in range(int(os.environ.get("BENCH_BUILD_PAIRS", max(3, repeat // 2)))):
            bare, bare_rows = bare_insert_select(tree)
            indexed.append(bare_insert_into_members(tree))
            build, members = fresh_build(f"bench {label}", tree)
            bares.append(bare)
            builds.append(build)
            transactions.append(Segment.objects.get(name=f"bench {label}").build_seconds)
        build_ms, bare_ms, indexed_ms = _median(builds), _median(bares), _median(indexed)
        print(
            f"full build, {label}: {build_ms:.0f} ms for {members:,} members (its transaction "
            f"{_median(transactions):.0f} ms, then ANALYZE); bare INSERT…SELECT into an unindexed "
            f"table {bare_ms:.0f} ms ({bare_rows:,} rows): ratio {build_ms / bare_ms:.2f}x (each pair: "
            f"{', '.join(f'{b / a:.2f}x' for a, b in zip(bares, builds, strict=True))}); the same statement "
            f"into the membership table (its indexes) {indexed_ms:.0f} ms: ratio {build_ms / indexed_ms:.2f}x; "
            f"{_load()}"
        )
        segment = Segment.objects.get(name=f"bench {label}")
        median, _, _ = _time(lambda segment=segment: rebuild(segment), repeat)
        print(f"rebuild with no changes, {label}: median {median:.0f} ms")

    segment = Segment.objects.get(name="bench 4 conditions")
    pks = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:1000])
    started, cpu = time.perf_counter(), _cpu()
    for pk in pks:
        is_member(pk, segment.pk)
    per_member = (time.perf_counter() - started) / len(pks) * 1000
    member_cpu = (_cpu() - cpu) / len(pks) * 1000
    started, cpu = time.perf_counter(), _cpu()
    for pk in pks:
        segments_of(pk)
    per_segments = (time.perf_counter() - started) / len(pks) * 1000
    segments_cpu = (_cpu() - cpu) / len(pks) * 1000
    print(
        f"is member: {per_member:.2f} ms per call (CPU {member_cpu:.2f} ms); segments of a customer: "
        f"{per_segments:.2f} ms per call (CPU {segments_cpu:.2f} ms; {Segment.objects.count()} segments); {_load()}"
    )

    sync_roles()
    user, _ = User.objects.get_or_create(
        username="bench-segments", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    pages = {}
    for page, url in (
        ("unfiltered list", "/customers/"),
        ("filtered by the segment", f"/customers/?segment={segment.pk}"),
        ("filtered by the segment, sorted by name", f"/customers/?segment={segment.pk}&sort=name"),
        ("the segment's members page", f"/segments/{segment.pk}/"),
    ):
        client.get(url)  # the first request of a page (template loading) is not what is measured
        cpu = _cpu()
        median, worst, response = _time(lambda url=url: client.get(url), repeat)
        assert response.status_code == 200, response.status_code
        pages[page] = median
        cpu = (_cpu() - cpu) / (repeat + 1) * 1000
        ratio = (
            f"; {median / pages['unfiltered list']:.2f}x the unfiltered list"
            if pages.get("unfiltered list")
            else ""
        )
        print(
            f"customer list, {page}: median {median:.0f} ms, worst {worst:.0f} ms, CPU {cpu:.0f} ms per "
            f"request (Python + PostgreSQL; budget 150 ms){ratio}; {_load()}"
        )

    if bulk <= 0:
        return
    from events.engine import register_event
    from segments.bulk import queue_bulk
    from segments.tasks import run_bulk

    offset = int(os.environ.get("BENCH_BULK_OFFSET", "0"))
    refs = list(
        Customer.objects.filter(environment="live", anonymized_at__isnull=True)
        .exclude(status__in=["banned", "opted_out"])
        .order_by("id")
        .values_list("customer_id", flat=True)[offset : offset + bulk + ONE_BY_ONE]
    )
    # The engine one event at a time, for the ratio: the same action on other customers.
    CustomerList.objects.filter(name__in=["bench bulk", "bench one by one"]).delete()
    single = CustomerList.objects.create(name="bench one by one")
    if len(refs) < bulk + ONE_BY_ONE:
        print(
            f"bench_segments: {len(refs):,} live customers, fewer than BENCH_BULK + BENCH_ONE_BY_ONE "
            f"({bulk + ONE_BY_ONE:,}); lower BENCH_BULK"
        )
        return
    started = time.perf_counter()
    for ref in refs[bulk:]:
        register_event(environment="live", customer=ref, action="customer_list_add", data={"list": single.pk})
    per_event = len(refs[bulk:]) / (time.perf_counter() - started)
    customer_list = CustomerList.objects.create(name="bench bulk")
    kinds = (
        ("customer_add", "customer_remove")
        if os.environ.get("BENCH_BULK_REMOVE", "1") == "1"
        else ("customer_add",)
    )
    for kind in kinds:
        operation = queue_bulk(customer_list, kind, refs[:bulk], environment="live", source="api")
        started, cpu = time.perf_counter(), _cpu()
        run_bulk(operation.pk)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
        operation.refresh_from_db()
        action = "customer_list_add" if kind == "customer_add" else "customer_list_remove"
        stored = Event.objects.filter(action=action, data__list=customer_list.pk).count()
        members = CustomerListMember.objects.filter(customer_list=customer_list).count()
        rate = bulk / elapsed
        print(
            f"bulk list {kind} (events.sets, one event per customer): {bulk:,} customers in {elapsed:.1f} s = "
            f"{rate:,.0f} customers/s; CPU {cpu:.1f} s (Python + PostgreSQL) = {bulk / cpu:,.0f} customers "
            f"per CPU second ({stored:,} events, {members:,} members after, {operation.number_of_errors} "
            f"errors; target 5,000/s); register_event one by one: {per_event:,.0f}/s ({ONE_BY_ONE} customers); "
            f"ratio {rate / per_event:.0f}x; {_load()}"
        )


ONE_BY_ONE = int(os.environ.get("BENCH_ONE_BY_ONE", "300"))


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    django.setup()
    run()
