"""One expression language for workflows and webhooks (loyalty.expressions): the same text behaves
the same in a workflow's Webhook message node and in a webhook subscription — the same output, or
the same error, on save and when an event is sent; and an expression in a workflow field behaves
as in an incoming webhook's mapping."""

import json

import pytest

from tests import factories
from tests.webhooks.conftest import make_site, modules, receiver, subscribe  # noqa: F401  (fixtures)
from webhooks import incoming
from webhooks.forms import SubscriptionForm
from webhooks.models import Delivery, IncomingEndpoint
from workflows import graph
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db

PATH = "/customers/{customer.id}/points"
GOOD = '{"id": {{ customer.id | tojson }}, "points": {{ event.points * 2 }}, "fixed": {"a": 1}}'
RUNTIME_FAILURES = [
    ('{"x": {{ customer.nothing }}}', "no attribute 'nothing'"),
    ("{% for i in range(10**9) %}x{% endfor %}", "range() of 1,000,000,000 items"),
    ("{{ 'x' * 10**9 }}", "Repeating 1 characters"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nest deeper"),
    ("{{ customer|attr('__class__') }}", "unsafe"),
]
SAVE_FAILURES = ["{{ ''.__class__ }}", "{{ oops", "{{ event._hidden }}", "x" * 10_001]


def _node(body, path=PATH):
    return {"id": "hook", "type": "webhook_message", "config": {"site": "CRM", "path": path, "body": body}}


@pytest.fixture
def both(program, modules, receiver):  # noqa: F811
    """Send one point_add of 20 points through a subscription and a workflow with `body`."""
    site = make_site(receiver.url + "/hooks")

    def send(on_commit, body, path=PATH):
        Delivery.objects.all().delete()
        subscribe(
            site, name=f"sub-{Delivery.objects.count()}-{abs(hash(body))}", path=path, payload_template=body
        )
        workflow = make_workflow(chain(on_event("point_add"), _node(body, path)))
        on_commit(lambda: factories.register("point_add", "Anna-1", data={"points": 20}))
        run = WorkflowRun.objects.get(workflow=workflow)
        return Delivery.objects.get(source="subscription"), RunStep.objects.get(run=run, node="hook")

    return send


def test_the_same_template_gives_the_same_message(both, anna, on_commit):
    subscription, step = both(on_commit, GOOD)
    sent_by_workflow = Delivery.objects.get(source="workflow")
    assert step.output == "success"
    assert subscription.path == sent_by_workflow.path == "/customers/Anna-1/points"
    assert subscription.body == sent_by_workflow.body
    assert json.loads(subscription.body) == {"id": "Anna-1", "points": 40, "fixed": {"a": 1}}


@pytest.mark.parametrize(("body", "message"), RUNTIME_FAILURES)
def test_the_same_failing_template_fails_both_with_the_same_message(both, anna, on_commit, body, message):
    subscription, step = both(on_commit, body)
    assert subscription.status == "failed" and message in subscription.last_error
    assert step.output == "failure" and message in step.error
    assert not Delivery.objects.filter(source="workflow").exists()


@pytest.mark.parametrize("body", [GOOD, *[body for body, _ in RUNTIME_FAILURES], *SAVE_FAILURES])
def test_saving_refuses_the_same_templates_with_the_same_message(program, modules, receiver, body):  # noqa: F811
    site = make_site(receiver.url + "/hooks")
    form = SubscriptionForm(
        {
            "name": "s",
            "site": site.pk,
            "environment": "live",
            "actions": "*",
            "path": PATH,
            "payload_template": body,
        }
    )
    form_errors = form.errors.get("payload_template", [])
    try:
        graph.validate_graph(chain(on_event("point_add"), _node(body)))
        graph_errors = []
    except graph.InvalidGraph as invalid:
        graph_errors = [e.message for e in invalid.errors if e.field == "body"]
    assert bool(form_errors) == bool(graph_errors) == (body in SAVE_FAILURES)
    for form_message, graph_message in zip(form_errors, graph_errors, strict=True):
        assert graph_message.endswith(form_message) or "characters" in form_message  # schema maxLength


MAPPINGS = [  # (incoming mapping over the request body, workflow variable over the event, value or error)
    ("body.amount * 2", "event.amount * 2", 42),
    ("{body.amount} * 2", "{event.amount} * 2", 42),  # the reference's single braces in both
    ("body.coupon | default(none)", "event.coupon | default(none)", None),
    ("body.missing + 1", "event.missing + 1", "no attribute 'missing'"),
    ("body.__class__", "event.__class__", "underscore"),
    ("range(10**9) | list", "range(10**9) | list", "range() of 1,000,000,000 items"),
]


@pytest.mark.parametrize(("mapping", "variable", "expected"), MAPPINGS)
def test_an_incoming_mapping_and_a_workflow_variable_evaluate_alike(
    program, anna, on_commit, mapping, variable, expected
):
    endpoint = IncomingEndpoint(
        name="m", action="point_add", customer_expression="'Anna-1'", attributes={"x": mapping}
    )
    try:
        mapped = incoming.map_request(endpoint, incoming.context({"amount": 21}, {})).data.get("x")
    except incoming.HookMappingError as error:
        mapped = error.message
    assign = {"id": "v", "type": "variable_assign", "config": {"name": "x", "value": variable}}
    try:
        workflow = make_workflow(chain(on_event("point_add"), assign))
    except graph.InvalidGraph as invalid:  # refused on save (the incoming form refuses it too)
        assigned = invalid.errors[0].message
    else:
        on_commit(lambda: factories.register("point_add", "Anna-1", data={"points": 1, "amount": 21}))
        step = RunStep.objects.get(run=WorkflowRun.objects.get(workflow=workflow), node="v")
        assigned = step.detail["value"] if step.output == "success" else step.error
    if isinstance(expected, str):
        assert expected in mapped and expected in assigned
    else:
        assert mapped == assigned == expected
