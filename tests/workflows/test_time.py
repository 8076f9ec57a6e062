"""Waits and On a date triggers follow the environment's clock: the sandbox's test clock."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from coupons import pools
from coupons.models import Coupon
from loyalty import clock, sandbox
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
