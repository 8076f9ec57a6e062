"""The Webhook message and Referral bonus action nodes, run through the engine on the action branch."""

import json

import pytest

from events.models import Event
from loyalty.models import Program
from tests import factories
from tests.webhooks.conftest import make_site, modules, receiver  # noqa: F401  (fixtures)
from webhooks.models import Delivery
from workflows import graph, runner, tasks
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db

BODY = '{"id": {{ customer.id | tojson }}, "points": {{ event.points }}, "fixed": {"a": 1}}'


def _webhook(site="CRM", path="/customers/{customer.id}/points", body=BODY):
    return {"id": "hook", "type": "webhook_message", "config": {"site": site, "path": path, "body": body}}


def _fire(on_commit, *nodes, trigger="point_add", customer="Anna-1", data=None):
    workflow = make_workflow(chain(on_event(trigger), *nodes))
    on_commit(lambda: factories.register(trigger, customer, data=data or {"points": 20}))
    run = WorkflowRun.objects.get(workflow=workflow)
    return run, {step.node: step for step in RunStep.objects.filter(run=run)}


@pytest.fixture
def crm(program, modules, receiver):  # noqa: F811
    return make_site(receiver.url + "/hooks")


# --- Webhook message -----------------------------------------------------------------------------


def test_webhook_message_queues_the_rendered_path_and_body(program, anna, crm, on_commit):
    run, steps = _fire(on_commit, _webhook())
    delivery = Delivery.objects.get()
    assert steps["hook"].output == "success"
    assert delivery.site == crm and delivery.source == "workflow"
    assert delivery.path == "/customers/Anna-1/points"
    assert json.loads(delivery.body) == {"id": "Anna-1", "points": 20, "fixed": {"a": 1}}
    assert delivery.customer == factories.live() and delivery.event == run.trigger_event
    assert delivery.action == "point_add"
    assert delivery.msg_id == steps["hook"].detail["msg_id"] and delivery.msg_id.startswith("msg_wf_")
    assert steps["hook"].detail["delivery"] == delivery.pk


def test_webhook_message_is_queued_once_when_the_task_is_delivered_twice(program, anna, crm):
    workflow = make_workflow(chain(on_event("point_add"), _webhook()))
    event = factories.register("point_add", data={"points": 5}).event  # no drain: walked by hand
    for _delivery in range(2):
        tasks.run_for_events("live", [event.pk], 0, None, event.pk, {})
    run = WorkflowRun.objects.get(workflow=workflow)
    runner.execute(run)  # a replay of the finished run
    assert Delivery.objects.count() == 1
    assert RunStep.objects.get(run=run, node="hook").output == "success"


def test_the_webhook_id_is_keyed_on_run_version_and_node(program, anna, crm, on_commit):
    run, steps = _fire(on_commit, _webhook(), {**_webhook(), "id": "other"})
    first, second = Delivery.objects.order_by("pk")
    assert (first.msg_id, second.msg_id) == (steps["hook"].detail["msg_id"], steps["other"].detail["msg_id"])
    assert first.msg_id != second.msg_id  # one ID per node of the run
    _fire(on_commit, _webhook())  # a second event runs both workflows: 2 + 1 more messages
    assert len(set(Delivery.objects.values_list("msg_id", flat=True))) == Delivery.objects.count() == 5


@pytest.mark.parametrize(
    ("node", "field"),
    [
        (_webhook(site="Nobody"), "site"),  # NotFound
        (_webhook(path="//evil.example/{customer.id}"), "path"),  # ValidationError (another host)
        (_webhook(path="/{customer.nothing}"), None),  # ExpressionError at run time
    ],
)
def test_webhook_message_refusals_take_the_failure_output(program, anna, crm, on_commit, node, field):
    _, steps = _fire(
        on_commit,
        node,
        {"id": "after", "type": "add_label", "config": {"label": "failed"}, "_after": ("hook", "failure")},
    )
    assert steps["hook"].output == "failure" and steps["hook"].error
    assert steps["after"].output == "success"
    assert not Delivery.objects.exists()


def test_webhook_message_with_the_module_off_fails(program, anna, crm, on_commit):
    Program.objects.filter(pk=program.pk).update(webhooks=False)
    _, steps = _fire(on_commit, _webhook())
    assert steps["hook"].output == "failure" and "disabled" in steps["hook"].error
    assert not Delivery.objects.exists()


def test_a_json_body_is_a_double_brace_template_on_save():
    ok = {"id": "n", "type": "webhook_message", "config": {"site": "CRM", "path": "/x", "body": '{"a": 1}'}}
    graph.validate_graph(chain(on_event("login"), ok))  # single braces are text in a JSON body
    bad = {**ok, "config": {**ok["config"], "body": '{"a": {{ customer.id }'}}
    with pytest.raises(graph.InvalidGraph) as caught:
        graph.validate_graph(chain(on_event("login"), bad))
    assert [error.field for error in caught.value.errors] == ["body"]


# --- Referral bonus ------------------------------------------------------------------------------


@pytest.fixture
def referred(program):
    """Ada referred Fred (Fred opted in with Ada's referral code); Bea was not referred."""
    Program.objects.filter(pk=program.pk).update(referrals=True, workflows=True)
    for customer in ("Ada-1", "Bea-1"):
        factories.register("opt_in", customer)
    factories.register("referral_code_create", "Ada-1", {"code": "ADA-9", "usage_limit": 0})
    factories.register("opt_in", "Fred-1", {"referral_code": "ADA-9"})


def test_referral_bonus_rewards_the_advocate(referred, on_commit):
    before = factories.live("Ada-1").spendable
    node = {
        "id": "bonus",
        "type": "referral_bonus",
        "config": {"points": "{event.points} * 5", "reason": "thanks"},
    }
    run, steps = _fire(on_commit, node, customer="Fred-1")
    assert steps["bonus"].output == "success" and steps["bonus"].detail["points"] == 100
    assert factories.live("Ada-1").spendable == before + 100
    event = Event.objects.get(action="referral_bonus")
    assert event.customer == factories.live("Ada-1") and event.workflow_id == run.workflow_id
    assert event.data["friend"] == "Fred-1" and event.reason == "thanks"
    assert steps["bonus"].event == event


def test_referral_bonus_for_a_customer_nobody_referred_fails(referred, on_commit):
    before = factories.live("Ada-1").spendable
    node = {"id": "bonus", "type": "referral_bonus", "config": {"points": 50}}
    _, steps = _fire(on_commit, node, customer="Bea-1")
    assert steps["bonus"].output == "failure" and "referred" in steps["bonus"].error
    assert not Event.objects.filter(action="referral_bonus").exists()
    assert factories.live("Ada-1").spendable == before


def test_a_second_message_with_the_same_webhook_id_is_refused(program, anna, crm):
    from django.db import IntegrityError, transaction

    from webhooks.delivery import enqueue_message

    enqueue_message("CRM", "/a", "{}", factories.live(), msg_id="msg_wf_same")
    with pytest.raises(IntegrityError), transaction.atomic():
        enqueue_message("CRM", "/b", "{}", factories.live(), msg_id="msg_wf_same")
    assert list(Delivery.objects.values_list("path", flat=True)) == ["/a"]
