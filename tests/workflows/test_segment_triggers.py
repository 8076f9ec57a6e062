"""Segment entered / left triggers: fired by the membership change (a build, archiving, a static
segment's import) through one task after commit, exactly once per (segment, customer, change)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from customers.models import Customer
from segments.building import clear_members, rebuild
from segments.models import Segment, SegmentMember
from tests import factories
from workflows import tasks
from workflows.models import WorkflowRun

from .conftest import chain, make_workflow

pytestmark = pytest.mark.django_db

IN_DE = {"match": "all", "conditions": [{"field": "country", "operator": "eq", "value": "DE"}]}


def _segment_workflow(segment, direction: str, points: int):
    return make_workflow(
        chain(
            {"type": "segment_trigger", "config": {"segment": segment.pk, "direction": direction}},
            {"id": "bonus", "type": "point_add", "config": {"points": points}},
            branch="on",
        ),
        name=f"On {direction}",
    )


def _move(customer_ids, country):
    Customer.objects.filter(customer_id__in=customer_ids).update(country=country)


@pytest.fixture
def world(program):
    program.segments = True
    program.save()
    for number in range(1, 6):
        factories.enroll(f"C-{number}", country="DE" if number <= 2 else "AT")
    segment = Segment.objects.create(name="Germany", conditions=IN_DE)
    rebuild(segment)  # C-1, C-2 are members; no workflow listens yet
    assert SegmentMember.objects.filter(segment=segment, left_at__isnull=True).count() == 2
    entered = _segment_workflow(segment, "entered", 5)
    left = _segment_workflow(segment, "left", 3)
    return segment, entered, left


def _runs(workflow):
    return sorted(
        WorkflowRun.objects.filter(workflow=workflow).values_list("customer__customer_id", flat=True)
    )


def test_a_build_that_adds_three_and_removes_two_runs_three_entered_and_two_left(
    world, django_capture_on_commit_callbacks
):
    segment, entered, left = world
    _move(["C-1", "C-2"], "AT")
    _move(["C-3", "C-4", "C-5"], "DE")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rebuild(segment)
    assert len(callbacks) == 1  # one task for the whole build
    assert _runs(entered) == ["C-3", "C-4", "C-5"]
    assert _runs(left) == ["C-1", "C-2"]
    assert [factories.live(f"C-{n}").spendable for n in range(1, 6)] == [3, 3, 5, 5, 5]

    # The same task delivered again, and the build run again: nothing more.
    moment = SegmentMember.objects.filter(segment=segment, left_at__isnull=False).first().left_at
    assert tasks.run_segment_changes(segment.pk, moment.isoformat(), ["entered", "left"]) == 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rebuild(segment)
    assert callbacks == []
    # Nor does the recovery sweep, once the grace has passed.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        tasks.tick()
        tasks.tick()
    assert WorkflowRun.objects.filter(workflow__in=[entered, left]).count() == 5
    assert [factories.live(f"C-{n}").spendable for n in range(1, 6)] == [3, 3, 5, 5, 5]


def test_only_the_listened_direction_queues_a_task(world, django_capture_on_commit_callbacks):
    segment, entered, left = world
    left.status = "inactive"
    left.save()
    _move(["C-1"], "AT")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rebuild(segment)  # C-1 leaves; only a left workflow would care
    assert callbacks == []
    _move(["C-3"], "DE")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rebuild(segment)
    assert len(callbacks) == 1
    assert _runs(entered) == ["C-3"]


def test_a_change_whose_task_was_lost_is_run_once_by_the_recovery_sweep(world):
    segment, entered, left = world
    _move(["C-3"], "DE")
    _move(["C-2"], "AT")
    tasks.tick()  # the sweep's cursor starts here
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):
        rebuild(segment)  # committed, but its after-commit task never runs (a crash)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        tasks.tick()
    assert _runs(entered) == []  # still within the grace: the task may yet come
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        tasks.tick()
        tasks.tick()
    assert _runs(entered) == ["C-3"]
    assert _runs(left) == ["C-2"]
    assert factories.live("C-3").spendable == 5


def test_archiving_a_segment_runs_its_left_workflows_for_every_member(
    world, django_capture_on_commit_callbacks
):
    segment, entered, left = world
    with django_capture_on_commit_callbacks(execute=True):
        clear_members(segment)
    assert _runs(left) == ["C-1", "C-2"]
    assert _runs(entered) == []


def test_opted_out_customers_are_not_visited(world, django_capture_on_commit_callbacks):
    segment, entered, left = world
    _move(["C-3", "C-4"], "DE")
    Customer.objects.filter(customer_id="C-4").update(status="opted_out")
    with django_capture_on_commit_callbacks(execute=True):
        rebuild(segment)
    assert _runs(entered) == ["C-3"]


def test_a_static_segment_import_runs_the_entered_workflows_of_the_imported_members(
    program, django_capture_on_commit_callbacks
):
    from segments.models import SegmentKind
    from tests.dataio.conftest import run_import

    factories.enroll("C-1")
    factories.enroll("C-2")
    segment = Segment.objects.create(name="Migrated", kind=SegmentKind.STATIC)
    entered = _segment_workflow(segment, "entered", 5)
    with django_capture_on_commit_callbacks(execute=True):
        run_import("segment_members", "customer\nC-1\nC-9\n", target=segment.pk)
    assert _runs(entered) == ["C-1"]
    with django_capture_on_commit_callbacks(execute=True):
        run_import("segment_members", "customer\nC-1\nC-2\n", target=segment.pk)  # C-1 already in
    assert _runs(entered) == ["C-1", "C-2"]
    assert factories.live("C-1").spendable == 5
