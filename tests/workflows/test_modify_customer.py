"""Modify customer on both branches of the Event trigger, through the engine: on the modifier
branch the change is part of the triggering event (same transaction, no event of its own); on the
action branch it is a profile event registered after commit."""

import pytest

from events.models import Event
from loyalty.errors import EngineError
from tests import factories
from workflows.choices import RunStatus
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _modify(values: dict, node_id: str = "m") -> dict:
    return {"id": node_id, "type": "modify_customer", "config": {"set": values}}


def _steps(workflow) -> dict:
    run = WorkflowRun.objects.filter(workflow=workflow).first()
    return {step.node: step for step in RunStep.objects.filter(run=run)}


def test_on_the_modifier_branch_the_change_is_part_of_the_event(program, anna, on_commit):
    workflow = make_workflow(
        chain(on_event("login"), _modify({"nickname": "{customer.first_name}!"}), branch="modifier")
    )
    before = set(Event.objects.values_list("pk", flat=True))
    on_commit(lambda: factories.register("login"))
    assert factories.live().nickname == "Anna!"
    # The login and its daily_login only: no profile event of its own.
    made = Event.objects.exclude(pk__in=before)
    assert sorted(made.values_list("action", flat=True)) == ["daily_login", "login"]
    steps = _steps(workflow)
    assert steps["m"].branch == "modifier" and steps["m"].output == "success"
    assert steps["m"].detail == {"set": {"nickname": "Anna!"}}


def test_on_the_action_branch_it_is_a_profile_event_after_commit(program, anna, on_commit):
    workflow = make_workflow(chain(on_event("login"), _modify({"nickname": "{customer.first_name}?"})))
    on_commit(lambda: factories.register("login"))
    assert factories.live().nickname == "Anna?"
    profile = Event.objects.get(action="profile", workflow_id=workflow.pk)
    assert profile.data == {"nickname": "Anna?"} and profile.source == "automation"
    assert _steps(workflow)["m"].event == profile


def test_an_interrupt_after_it_undoes_the_change_with_the_event(program, anna, on_commit):
    make_workflow(
        chain(
            on_event("login"),
            _modify({"nickname": "changed", "labels": "touched"}),
            {"id": "stop", "type": "interrupt", "config": {"code": 12001, "message": "No."}},
            branch="modifier",
        )
    )
    before = factories.counts()
    with pytest.raises(EngineError):
        factories.register("login")
    anna = factories.live()
    assert anna.nickname != "changed" and not anna.labels.exists()
    assert factories.counts() == before


def test_later_nodes_and_the_event_handler_see_the_new_values(program, anna, on_commit):
    """A customer filter after it reads the changed row; the event's own attributes apply after
    the workflow's (a profile event setting the same attribute wins)."""
    workflow = make_workflow(
        chain(
            on_event("profile"),
            _modify({"nickname": "Nick", "city": "Szeged"}),
            {
                "id": "f",
                "type": "filter_customer",
                "config": {
                    "conditions": {"conditions": [{"field": "city", "operator": "eq", "value": "Szeged"}]}
                },
            },
            _modify({"zip": "6720"}, "z"),
            branch="modifier",
        )
    )
    on_commit(lambda: factories.register("profile", data={"nickname": "From the event"}))
    anna = factories.live()
    assert (anna.nickname, anna.city, anna.zip) == ("From the event", "Szeged", "6720")
    assert _steps(workflow)["f"].output == "success"


def test_a_refused_value_fails_the_node_leaves_the_customer_and_stores_the_event(program, anna, on_commit):
    workflow = make_workflow(
        chain(
            on_event("login"),
            _modify({"nickname": "kept?", "birth_date": "not a date"}),
            branch="modifier",
        )
    )
    on_commit(lambda: factories.register("login"))
    assert factories.live().nickname != "kept?"  # nothing of the node is applied
    assert Event.objects.filter(action="login").exists()  # the event is stored all the same
    step = _steps(workflow)["m"]
    assert step.output == "failure" and "cannot be modified" in step.error
    assert WorkflowRun.objects.get(workflow=workflow).status == RunStatus.ERROR


def test_graph_validation_accepts_it_on_both_branches():
    from workflows.graph import validate_graph

    for branch in ("modifier", "action"):
        validate_graph(chain(on_event("login"), _modify({"nickname": "x"}), branch=branch))
