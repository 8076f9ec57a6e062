"""The Event trigger through the engine: modifier branch before storage, action branch after commit."""

import pytest

from events.models import Event
from loyalty.errors import EngineError
from tests import factories
from workflows.choices import RunStatus
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def test_a_welcome_bonus_is_registered_by_automation_after_the_opt_in(program, on_commit):
    workflow = make_workflow(
        chain(
            on_event("opt_in"),
            {"id": "bonus", "type": "point_add", "config": {"points": 100, "reason": "Welcome"}},
        )
    )
    on_commit(lambda: factories.register("opt_in", "Bob-1", {"first_name": "Bob"}))
    bob = factories.live("Bob-1")
    assert bob.spendable == 100
    bonus = Event.objects.get(customer=bob, action="point_add")
    assert bonus.source == "automation"
    assert bonus.workflow_id == workflow.pk
    assert bonus.reason == "Welcome"
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.SUCCESS
    assert run.trigger_event.action == "opt_in"
    assert RunStep.objects.get(run=run, node="bonus").event == bonus


def test_a_filter_that_fails_gives_no_action_taken_not_success(program, anna, on_commit):
    workflow = make_workflow(
        chain(
            on_event("point_add"),
            {
                "id": "big",
                "type": "filter_event",
                "config": {
                    "conditions": {"conditions": [{"field": "points", "operator": "ge", "value": "500"}]}
                },
            },
            {"id": "tag", "type": "add_label", "config": {"label": "big-earner"}},
        )
    )
    on_commit(lambda: factories.register("point_add", data={"points": 10}))
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.NO_ACTION
    assert RunStep.objects.get(run=run, node="big").output == "failure"
    on_commit(lambda: factories.register("point_add", data={"points": 600}))
    latest = WorkflowRun.objects.filter(workflow=workflow).first()
    assert latest.status == RunStatus.SUCCESS
    assert list(factories.live().labels.values_list("name", flat=True)) == ["big-earner"]


def test_an_interrupt_refuses_the_event_with_its_code_and_stores_nothing(program, on_commit):
    factories.CustomFieldFactory(name="age", type="number")
    make_workflow(
        chain(
            on_event("opt_in"),
            {
                "id": "minor",
                "type": "filter_event",
                "config": {"conditions": {"conditions": [{"field": "age", "operator": "lt", "value": "18"}]}},
            },
            {
                "id": "stop",
                "type": "interrupt",
                "config": {"code": 12345, "message": "Members must be 18, not {event.age}."},
            },
            branch="modifier",
        )
    )
    before = factories.counts()
    with pytest.raises(EngineError) as caught:
        factories.register("opt_in", "Kid-1", {"age": 15})
    assert caught.value.code == 12345
    assert caught.value.type == "InterruptException"
    assert "18, not 15" in caught.value.message
    assert factories.counts() == before
    run = WorkflowRun.objects.get()
    assert run.status == RunStatus.INTERRUPTED
    assert run.customer is None
    on_commit(lambda: factories.register("opt_in", "Adult-1", {"age": 30}))
    assert factories.live("Adult-1").custom["age"] == 30


def test_modify_event_changes_the_event_before_it_is_stored(program, anna, on_commit):
    make_workflow(
        chain(
            on_event("point_add"),
            {"id": "double", "type": "modify_event", "config": {"set": {"points": "{event.points} * 2"}}},
            branch="modifier",
        )
    )
    on_commit(lambda: factories.register("point_add", data={"points": 25}))
    event = Event.objects.filter(action="point_add").latest("id")
    assert event.points == 50
    assert factories.live().spendable == 50


def test_a_broken_expression_fails_the_node_and_never_the_event(program, anna, on_commit):
    workflow = make_workflow(
        chain(
            on_event("point_add"),
            {"id": "bonus", "type": "point_add", "config": {"points": "{event.nothing} + 1"}},
        )
    )
    on_commit(lambda: factories.register("point_add", data={"points": 5}))
    assert factories.live().spendable == 5
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.ERROR
    step = RunStep.objects.get(run=run, node="bonus")
    assert step.output == "failure" and "'nothing'" in step.error
