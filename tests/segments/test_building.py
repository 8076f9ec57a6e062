"""Materialized segment builds: entered/left history, counts, dependency order, schedule, concurrency."""

import json
import threading

import pytest
from django.db import connection

from customers.models import Customer
from events.engine import register_event
from segments.building import (
    build_order,
    is_member,
    rebuild,
    rebuild_all,
    refresh_statistics,
    request_rebuild,
    segments_of,
)
from segments.models import Segment, SegmentMember

from .test_conditions import leaf, tree


def members(segment) -> set[str]:
    return set(
        SegmentMember.objects.filter(segment=segment, left_at__isnull=True).values_list(
            "customer__customer_id", flat=True
        )
    )


def test_rebuild_records_entered_and_left(program, enroll_customer):
    enroll_customer("a", points=100)
    enroll_customer("b", points=10)
    segment = Segment.objects.create(name="Big", conditions=tree(leaf("score", "ge", "50")))
    rebuild(segment)
    assert members(segment) == {"a"}
    segment.refresh_from_db()
    assert segment.member_count == 1 and segment.last_built_at and segment.build_seconds is not None

    register_event(environment="live", customer="b", action="point_add", data={"points": 100})
    register_event(environment="live", customer="a", action="point_sub", data={"points": 90})
    rebuild(segment)
    assert members(segment) == {"b"}
    history = SegmentMember.objects.filter(segment=segment, customer__customer_id="a").get()
    assert history.left_at is not None and history.entered_at <= history.left_at
    rebuild(segment)  # nothing changed: no new rows
    assert SegmentMember.objects.filter(segment=segment).count() == 2
    b = Customer.objects.get(customer_id="b")
    assert is_member(b.pk, segment.pk) and [s.name for s in segments_of(b.pk)] == ["Big"]


def test_segment_of_segments_builds_in_dependency_order(program, enroll_customer):
    enroll_customer("a", points=100, country="DE")
    enroll_customer("b", points=100, country="AT")
    rich = Segment.objects.create(name="Rich", conditions=tree(leaf("score", "ge", "50")))
    german_rich = Segment.objects.create(
        name="German rich", conditions=tree(leaf("segment", "eq", str(rich.pk)), leaf("country", "eq", "DE"))
    )
    # Created in the "wrong" order: the dependent segment first.
    assert [s.name for s in build_order([german_rich, rich])] == ["Rich", "German rich"]
    assert rebuild_all() == 2
    assert members(german_rich) == {"a"}


def test_a_broken_definition_is_recorded_not_raised(program, enroll_customer):
    enroll_customer("a", points=100)
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "50")))
    rebuild(segment)
    Segment.objects.filter(pk=segment.pk).update(conditions=tree(leaf("gone_field", "eq", "1")))
    segment.refresh_from_db()
    rebuild(segment)
    segment.refresh_from_db()
    assert "Unknown attribute" in segment.build_error and segment.build_status == "failed"
    assert members(segment) == {"a"}  # left as it was


def test_a_requested_rebuild_is_building_until_the_queued_task_runs(
    program, enroll_customer, django_capture_on_commit_callbacks
):
    enroll_customer("a", points=100)
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "50")))
    with django_capture_on_commit_callbacks() as queued:
        request_rebuild(segment)
    segment.refresh_from_db()
    assert segment.build_status == "building" and members(segment) == set() and len(queued) == 1
    queued[0]()  # django-q2 runs segments.tasks.rebuild_segment (inline in tests)
    segment.refresh_from_db()
    assert segment.build_status == "ready" and members(segment) == {"a"} and segment.member_count == 1


def test_a_build_that_crashes_is_marked_failed_not_left_building(program, enroll_customer, monkeypatch):
    from segments import tasks

    enroll_customer("a", points=100)
    segment = Segment.objects.create(
        name="S", conditions=tree(leaf("score", "ge", "50")), build_status="building"
    )

    def crash(_segment):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks, "rebuild", crash)
    with pytest.raises(RuntimeError):
        tasks.rebuild_segment(segment.pk)
    segment.refresh_from_db()
    assert segment.build_status == "failed" and "internal error" in segment.build_error


def test_the_hourly_schedule_exists(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="Rebuild segments")
    assert schedule.func == "segments.tasks.rebuild_segments" and schedule.schedule_type == "H"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rebuilds_while_customers_change_never_duplicate(program):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    from tests.customers.conftest import enroll

    for n in range(30):
        enroll(f"c{n}", points=60 if n % 2 else 10)
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "50")))
    errors = []

    def build():
        try:
            for _ in range(5):
                rebuild(Segment.objects.get(pk=segment.pk))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    def change():
        try:
            for n in range(0, 30, 2):
                register_event(environment="live", customer=f"c{n}", action="point_add", data={"points": 50})
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=build),
        threading.Thread(target=build),
        threading.Thread(target=change),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rebuild(Segment.objects.get(pk=segment.pk))
    # Every customer now has >= 50 points: all are current members, each exactly once.
    current = SegmentMember.objects.filter(segment=segment, left_at__isnull=True)
    assert current.count() == 30
    assert current.values("customer").distinct().count() == 30


def test_deleting_a_segment_deletes_its_memberships_without_a_database_foreign_key(program, enroll_customer):
    # SegmentMember has no database-level foreign keys (derived rows): the ORM's CASCADE removes them.
    enroll_customer("a", points=100)
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "50")))
    other = Segment.objects.create(name="T", conditions=tree(leaf("score", "ge", "50")))
    rebuild(segment)
    rebuild(other)
    assert SegmentMember.objects.count() == 2
    segment.delete()
    assert list(SegmentMember.objects.values_list("segment_id", flat=True)) == [other.pk]
    a = Customer.objects.get(customer_id="a")
    assert [s.name for s in segments_of(a.pk)] == ["T"] and is_member(a.pk, other.pk)


@pytest.mark.postgres
def test_a_build_refreshes_the_planner_statistics_of_the_membership_table(program, enroll_customer):
    """Without it a new segment is estimated at a handful of rows and the customer list filtered by
    it fetched and sorted every member (segments.building.refresh_statistics)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    for n in range(12):
        enroll_customer(f"c{n}", points=100 if n < 9 else 0)
    segment = Segment.objects.create(name="S", conditions=tree(leaf("score", "ge", "50")))
    rebuild(segment)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'segments_segmentmember'::regclass")
        assert cursor.fetchone()[0] == 9
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT customer_id FROM segments_segmentmember "
            "WHERE segment_id = %s AND left_at IS NULL",
            [segment.pk],
        )
        plan = cursor.fetchone()[0]
        assert (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]["Plan Rows"] == 9
    assert not refresh_statistics(0) and refresh_statistics(1)  # 1 row is more than a tenth of 9
