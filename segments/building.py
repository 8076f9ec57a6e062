"""Segment definitions, counts and materialized builds.

- `validate_definition(segment, tree)`: parse and compile the tree, refuse cycles between segments.
- `preview(tree, environment)`: (capped count, sample) for the editor's live count.
- `rebuild(segment)`: set-based statements under the segment's row lock:
      INSERT INTO temporary match table SELECT the predicate's customer IDs (the one scan)
      INSERT INTO member SELECT matching customers not yet members   (entered, an anti-join)
      UPDATE member SET left_at = now WHERE current AND NOT matching (left, an anti-join)
  The partial unique index `segment_member_current` and the lock (rebuilds of one segment are
  serialized) mean a membership is never duplicated; a customer changing during the build is
  caught by the next one (hourly schedule, and every save).
- `request_rebuild(segment)`: what a save does: mark the segment "building" and queue
  `segments.tasks.rebuild_segment` on django-q2 after commit (the console never waits for a build).
- `refresh_statistics(changed)`: ANALYZE the membership table after a build or import that
  changed more than a tenth of it (the planner's estimate of a segment's size; see there).
- `rebuild_all()`: every active dynamic segment, referenced segments first (a segment-of-segment
  condition reads the materialized membership of the other segment).
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext

from django.db import connection, transaction
from django.db.models import F
from django_q.tasks import async_task

from customers.models import Customer
from dataio import jobs
from dataio.choices import JobKind, JobStatus
from loyalty import clock, fastsql
from workflows import membership

from .conditions import (
    ConditionError,
    Group,
    available_attributes,
    compile_tree,
    make_context,
    parse_tree,
    referenced_segments,
)
from .models import BuildStatus, Segment, SegmentKind, SegmentMember, Status

log = logging.getLogger("loyalty.segments")

MATCH_TABLE = "segment_build_match"  # per-connection temporary table of one build
SLOW_BUILD_SECONDS = 30.0  # the editor warns above this (Mautic's "> 30 s" warning; §2.4)
SAMPLE_SIZE = 10
COUNT_CAP = 100_000
WORK_MEM = "64MB"
ANALYZE_SHARE = 0.1  # autovacuum_analyze_scale_factor's default
STATISTICS_TARGET = 10  # ANALYZE samples 300 x this many rows


def check_cycles(segment_pk: int | None, tree: Group) -> None:
    """Refuse a tree whose `segment` conditions lead back to the segment being saved (directly or
    through other segments), and references to archived segments. ConditionError names the path."""
    names = dict(Segment.objects.values_list("pk", "name"))
    stack = [(ref, [ref]) for ref in sorted(referenced_segments(tree))]
    seen: set[int] = set()
    while stack:
        current, trail = stack.pop()
        if segment_pk is not None and current == segment_pk:
            chain = " → ".join(names.get(pk, str(pk)) for pk in [segment_pk, *trail])
            raise ConditionError(f"Segments cannot refer to each other in a cycle ({chain}).", "conditions")
        if current in seen:
            continue
        seen.add(current)
        row = Segment.objects.filter(pk=current).values("conditions", "status").first()
        if row is None:
            continue  # compile_tree reports the unknown ID
        if row["status"] == Status.ARCHIVED:
            raise ConditionError(f"Segment “{names.get(current)}” is archived.", "conditions")
        try:
            inner = parse_tree(row["conditions"] or {"match": "all", "conditions": []})
        except ConditionError:
            continue
        stack.extend((ref, [*trail, ref]) for ref in referenced_segments(inner))


def validate_definition(segment_pk: int | None, data) -> Group:
    """The parsed tree, after compiling it once (every attribute, operator and value checked)."""
    tree = parse_tree(data)
    compile_tree(tree, available_attributes())
    check_cycles(segment_pk, tree)
    return tree


def matching_customers(tree, environment: str | None = None, ctx=None):
    """Customers (not anonymized) the tree selects, optionally in one environment."""
    qs = Customer.objects.filter(anonymized_at__isnull=True)
    if environment:
        qs = qs.filter(environment=environment)
    return qs.filter(compile_tree(tree, available_attributes(), ctx))


def preview(tree, environment: str, cap: int = COUNT_CAP) -> dict:
    """{count, capped, sample, seconds} for the editor: a capped count and the newest members."""
    started = time.monotonic()
    qs = matching_customers(tree, environment)
    # PostgreSQL: a read-only transaction for the planner settings. Not on SQLite, where the
    # console's transactions take the database's write lock (BEGIN IMMEDIATE) and a live count
    # would hold it while the user saves.
    with transaction.atomic() if connection.vendor == "postgresql" else nullcontext():
        no_jit()
        serial_plan()
        count = qs.order_by().values("pk")[: cap + 1].count()
        sample = list(qs.order_by("-id")[:SAMPLE_SIZE])
    return {
        "count": min(count, cap),
        "capped": count > cap,
        "sample": sample,
        "seconds": time.monotonic() - started,
    }


def no_jit() -> None:
    """Planner settings for the rest of the current transaction (PostgreSQL) of a count or build:
    JIT off (it compiled these plans for half a second: 0.54 s of a 7 s count, and saved less), and
    WORK_MEM for the hash tables of the condition subqueries (one per condition, up to one row per
    customer: with the server's default 4 MB they spill to disk in batches at 200,000 customers)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")


def serial_plan() -> None:
    """No parallel workers for the rest of the current transaction (PostgreSQL) of a live count.
    A parallel plan gives each worker its own copy of a condition subquery's hash table, so every
    worker scans and hashes the whole event window again: at 1M customers / 20M events the count
    with "logged in at least once in 90 days" (2.2M events, 775,000 customers) took 4.9-5.8 s with
    two workers and 3.4-3.6 s without (EXPLAIN ANALYZE, same run; bench_segments)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def _select_sql(tree, ctx) -> tuple[str, list]:
    qs = matching_customers(tree, ctx=ctx).order_by().values(member_id=F("pk"))
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def rebuild(segment: Segment) -> Segment:
    """Bring the materialized membership up to date; returns the segment with count and timing.

    A tree that no longer compiles (an attribute removed from the settings, a deleted list) is
    recorded in `build_error` and the membership is left as it was."""
    if not segment.is_dynamic or segment.status == Status.ARCHIVED:
        return segment
    started = time.monotonic()
    ctx = make_context()
    now = ctx.now
    table = SegmentMember._meta.db_table
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        no_jit()
        try:
            tree = parse_tree(locked.conditions or {"match": "all", "conditions": []})
            select_sql, params = _select_sql(tree, ctx)
        except ConditionError as error:
            Segment.objects.filter(pk=segment.pk).update(
                build_error=f"{error.field}: {error.message}", build_status=BuildStatus.FAILED
            )
            segment.build_error, segment.build_status = error.message, BuildStatus.FAILED
            return segment
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE segment_id = %s AND left_at IS NULL LIMIT 1", [segment.pk]
            )
            if cursor.fetchone() is None:
                # No current members (a new or emptied segment): everyone matching enters, in one
                # INSERT ... SELECT of the predicate, the count being its row count.
                cursor.execute(
                    f"INSERT INTO {table} (segment_id, customer_id, entered_at, left_at) "
                    f"SELECT %s, m.member_id, %s, NULL FROM ({select_sql}) m",
                    [segment.pk, stamp(now), *params],
                )
                count = changed = entered = cursor.rowcount
                left = 0
            else:
                count, entered, left = _update_members(cursor, segment.pk, now, select_sql, params)
                changed = entered + left
        # Segment entered / left workflows: one task for this build's changes, after commit.
        membership.changed(segment.pk, now, entered=entered > 0, left=left > 0)
        seconds = time.monotonic() - started
        # A save that lands while this build holds the row lock waits for it, then marks the
        # segment "building" again and queues the next build: "ready" is never set over a newer save.
        Segment.objects.filter(pk=segment.pk).update(
            member_count=count,
            last_built_at=now,
            build_seconds=seconds,
            build_error="",
            build_status=BuildStatus.READY,
        )
    segment.member_count, segment.last_built_at, segment.build_seconds = count, now, seconds
    segment.build_error, segment.build_status = "", BuildStatus.READY
    refresh_statistics(changed)
    log.info("segment %s rebuilt: %s members in %.2f s", segment.pk, count, seconds)
    return segment


def request_rebuild(segment: Segment, user=None) -> None:
    """Mark the segment "building" and queue its build on django-q2 once the caller's transaction
    commits (a worker runs `segments.tasks.rebuild_segment`; tests run it inline). Static and
    archived segments are never built."""
    if not segment.is_dynamic or segment.status == Status.ARCHIVED:
        return
    Segment.objects.filter(pk=segment.pk).update(build_status=BuildStatus.BUILDING)
    segment.build_status = BuildStatus.BUILDING
    pk = segment.pk
    key = f"segment:{pk}:{clock.now():%Y%m%dT%H%M%S.%f}"
    jobs.track(
        JobKind.SEGMENT_REBUILD,
        key,
        label=f"Rebuild of segment {segment.name}",
        status=JobStatus.PENDING,
        url=f"/segments/{pk}/",
        user=user,
    )
    transaction.on_commit(lambda: async_task("segments.tasks.rebuild_segment", pk, key))


def _update_members(cursor, segment_pk: int, now, select_sql: str, params: list) -> tuple[int, int, int]:
    """A rebuild over existing members: (the current member count, rows entered, rows left); the
    changed rows carry `now` (entered_at / left_at), which is how their workflows find them."""
    table = SegmentMember._meta.db_table
    # The matching IDs once, into a temporary table with a primary key; then entered and left are
    # two anti-joins against it (never the predicate re-run per member row).
    cursor.execute(f"DROP TABLE IF EXISTS {MATCH_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {MATCH_TABLE} (id bigint PRIMARY KEY)")
    cursor.execute(f"INSERT INTO {MATCH_TABLE} (id) SELECT m.member_id FROM ({select_sql}) m", params)
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {MATCH_TABLE}")
    cursor.execute(
        f"INSERT INTO {table} (segment_id, customer_id, entered_at, left_at) "
        f"SELECT %s, m.id, %s, NULL FROM {MATCH_TABLE} m "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} x "
        f"WHERE x.segment_id = %s AND x.customer_id = m.id AND x.left_at IS NULL)",
        [segment_pk, stamp(now), segment_pk],
    )
    entered = cursor.rowcount
    cursor.execute(
        f"UPDATE {table} SET left_at = %s WHERE segment_id = %s AND left_at IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {MATCH_TABLE} m WHERE m.id = {table}.customer_id)",
        [stamp(now), segment_pk],
    )
    left = cursor.rowcount
    cursor.execute(f"DROP TABLE {MATCH_TABLE}")
    count = SegmentMember.objects.filter(segment_id=segment_pk, left_at__isnull=True).count()
    return count, entered, left


def stamp(moment):
    """`moment` as the ORM stores it, for raw SQL: SQLite keeps datetimes as text, and the sqlite3
    module's own adapter writes "+00:00" where Django writes none, so the rows' entered_at /
    left_at would never equal the same moment in an ORM filter (how workflows find a change)."""
    return connection.ops.adapt_datetimefield_value(moment)


def refresh_statistics(changed: int) -> bool:
    """ANALYZE the membership table (PostgreSQL) when `changed` rows (members entered, left or
    imported) are more than a tenth of it, as autovacuum would, but at once: the planner then knows
    the new segment's size. With stale statistics a freshly built segment of 82,000 members was
    estimated at 9 rows, and the customer list filtered by it fetched and sorted every member
    (4.2 s) instead of walking both indexes in customer order (20 ms). Returns whether it ran.
    ANALYZE reads a fixed-size sample (STATISTICS_TARGET), so it costs the same at any table size."""
    if connection.vendor != "postgresql" or changed <= 0:
        return False
    table = SegmentMember._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
        if row is not None and row[0] >= 0 and changed <= row[0] * ANALYZE_SHARE:
            return False
        # A 3,000-row sample (instead of 30,000) is enough for what the planner asks of this table,
        # the share of each segment: 0.11 s instead of 0.39 s at 200,000 rows (load 15).
        cursor.execute(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
        cursor.execute(f"ANALYZE {table}")
    return True


def build_order(segments: list[Segment]) -> list[Segment]:
    """Segments sorted so that each comes after the segments its conditions refer to."""
    by_pk = {s.pk: s for s in segments}
    ordered: list[Segment] = []
    visiting: set[int] = set()
    done: set[int] = set()

    def visit(segment: Segment) -> None:
        if segment.pk in done or segment.pk in visiting:
            return
        visiting.add(segment.pk)
        try:
            refs = referenced_segments(parse_tree(segment.conditions or {"conditions": []}))
        except ConditionError:
            refs = set()
        for ref in sorted(refs):
            if ref in by_pk:
                visit(by_pk[ref])
        visiting.discard(segment.pk)
        done.add(segment.pk)
        ordered.append(segment)

    for segment in segments:
        visit(segment)
    return ordered


def rebuild_all() -> int:
    """Rebuild every active dynamic segment in dependency order (the hourly schedule)."""
    segments = list(Segment.objects.filter(kind=SegmentKind.DYNAMIC, status=Status.ACTIVE))
    for segment in build_order(segments):
        rebuild(segment)
    return len(segments)


def clear_members(segment: Segment) -> None:
    """Archiving: every current member leaves now (segment left workflows run for them)."""
    now = clock.now()
    left = SegmentMember.objects.filter(segment=segment, left_at__isnull=True).update(left_at=now)
    membership.changed(segment.pk, now, entered=False, left=left > 0)
    Segment.objects.filter(pk=segment.pk).update(member_count=0)


def is_member(customer_pk: int, segment_pk: int) -> bool:
    """One index lookup (segment_member_current), plain SQL through loyalty.fastsql: workflows and
    reward claims ask it per event, where the ORM's query compilation would cost more than the read."""
    cursor = fastsql.cursor()
    cursor.execute(_IS_MEMBER_SQL, [segment_pk, customer_pk])
    return cursor.fetchone() is not None


def segments_of(customer_pk: int) -> list[Segment]:
    """The customer's current segments, by name: per segment, one probe of segment_member_current
    (there is no index by customer: see SegmentMember.Meta), in plain SQL as `is_member`."""
    # Archived segments have no current members (clear_members), so no status filter is needed.
    found = fastsql.select(Segment, _SEGMENTS_OF_WHERE, [customer_pk])
    return sorted(found, key=lambda segment: (segment.name, segment.pk))


def current_memberships_of(customer_pk: int):
    """The customer's current SegmentMember rows, found the way `segments_of` finds them (a probe
    per segment): what the opt-out and merge hooks end."""
    return SegmentMember.objects.filter(
        segment_id__in=Segment.objects.values("pk"), customer_id=customer_pk, left_at__isnull=True
    )


_MEMBERS = SegmentMember._meta.db_table
_IS_MEMBER_SQL = (
    f"SELECT 1 FROM {_MEMBERS} WHERE segment_id = %s AND customer_id = %s AND left_at IS NULL LIMIT 1"
)
_SEGMENTS_OF_WHERE = (
    f"EXISTS (SELECT 1 FROM {_MEMBERS} m WHERE m.segment_id = {Segment._meta.db_table}.id "
    "AND m.customer_id = %s AND m.left_at IS NULL)"
)
