"""Waits and On a date triggers follow the environment's clock: the sandbox's test clock."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from coupons import pools
from coupons.models import Coupon
from loyalty import clock, sandbox
from segments.building import rebuild
from segments.models import Segment
from tests import factories
from workflows import runner, tasks
from workflows.choices import RunStatus
from workflows.models import DateOccurrence, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def test_a_wait_parks_the_run_and_the_sandbox_clock_resumes_it(program, on_commit):
    workflow = make_workflow(
        chain(
            on_event("login"),
            {"id": "later", "type": "wait", "config": {"amount": 2, "unit": "days"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 7}},
        ),
        environment="sandbox",
    )
    factories.enroll("Sam-1", environment="sandbox")
    on_commit(lambda: factories.register("login", "Sam-1", environment="sandbox"))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.WAITING
    assert factories.live("Sam-1", "sandbox").spendable == 0
    sandbox.advance(by=dt.timedelta(days=1))
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    sandbox.advance(by=dt.timedelta(days=1, minutes=1))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert factories.live("Sam-1", "sandbox").spendable == 7


def test_a_waiting_run_can_be_cancelled(program, anna, on_commit):
    workflow = make_workflow(
        chain(
            on_event("login"),
            {"id": "w", "type": "wait", "config": {"amount": 5, "unit": "minutes"}},
            {"id": "b", "type": "point_add", "config": {"points": 1}},
        )
    )
    on_commit(lambda: factories.register("login"))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert runner.cancel(run)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        tasks.tick()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert factories.live().spendable == 0


def test_a_daily_birthday_workflow_visits_only_todays_birthdays_once(program):
    pool = factories.CouponPoolFactory()
    pools.generate_codes(pool, 5)
    today = clock.now().astimezone(clock.zone()).date()
    factories.enroll("Birthday-1", birth_date=today.replace(year=1990).isoformat())
    factories.enroll("Other-1", birth_date=(today - dt.timedelta(days=3)).replace(year=1991).isoformat())
    workflow = make_workflow(
        chain(
            {
                "type": "date_trigger",
                "config": {
                    "repeat": "daily",
                    "time": "00:00",
                    "prefilter": {
                        "conditions": [{"field": "birth_date", "operator": "this_day", "value": ""}]
                    },
                },
            },
            {"id": "gift", "type": "assign_coupon", "config": {"pool": pool.pk}},
            branch="on",
        )
    )
    type(workflow).objects.filter(pk=workflow.pk).update(activated_at=clock.now() - dt.timedelta(days=1))
    tasks.tick()
    tasks.tick()  # the same occurrence again: nobody runs twice
    assert list(WorkflowRun.objects.values_list("customer__customer_id", flat=True)) == ["Birthday-1"]
    assert Coupon.objects.filter(customer__customer_id="Birthday-1").count() == 1
    assert DateOccurrence.objects.get().done


def test_a_historical_trigger_runs_each_customer_with_a_matching_event_once(program):
    for customer in ("Hist-1", "Hist-2", "Never-3"):
        factories.enroll(customer)
    for customer in ("Hist-1", "Hist-1", "Hist-2"):
        factories.register("login", customer)
    today = clock.now().astimezone(clock.zone()).date().isoformat()
    workflow = make_workflow(
        chain(
            {"type": "historical_trigger", "config": {"action": "login", "start": today, "end": today}},
            {"id": "tag", "type": "add_label", "config": {"label": "came-back"}},
            branch="on",
        )
    )
    tasks.tick()
    tasks.tick()
    assert sorted(
        WorkflowRun.objects.filter(workflow=workflow).values_list("customer__customer_id", flat=True)
    ) == [
        "Hist-1",
        "Hist-2",
    ]
    assert not factories.live("Never-3").labels.exists()


def test_a_segment_entered_trigger_follows_the_membership_changes(program, on_commit):
    program.segments = True
    program.save()
    factories.enroll("Rich-1", points=2000)
    factories.enroll("Poor-2", points=10)
    segment = Segment.objects.create(
        name="Rich",
        conditions={"match": "all", "conditions": [{"field": "score", "operator": "ge", "value": "1000"}]},
    )
    workflow = make_workflow(
        chain(
            {"type": "segment_trigger", "config": {"segment": segment.pk, "direction": "entered"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 5}},
            branch="on",
        )
    )
    on_commit(lambda: rebuild(segment))  # the build's change queues the run after commit
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=20)):
        tasks.tick()  # the recovery sweep finds the run made: nothing twice
        tasks.tick()
    assert list(
        WorkflowRun.objects.filter(workflow=workflow).values_list("customer__customer_id", flat=True)
    ) == ["Rich-1"]
    assert factories.live("Rich-1").spendable == 2005
