"""Bad input on save (issue 18 "Bad input"): expressions that do not parse or reach outside the
sandbox, huge fan-outs, a wait of 100 years (as an amount or a date), a trigger on an action that
does not exist or no longer exists — each a clear error on the node and field through every way a
graph is saved (console editor, import, activation in the console and the API), never a 500; and
a pathological expression saved in an active workflow fails its node, never the event."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from events.catalog import clear_cache
from events.models import Event, EventDefinition
from tests import factories
from workflows import editing
from workflows.graph import InvalidGraph, validate_graph
from workflows.models import RunStep, Workflow, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _label(reason, node_id="a"):
    """A Point add whose reason is the template under test."""
    return {"id": node_id, "type": "point_add", "config": {"points": 1, "reason": reason}}


def _fan_out(count):
    graph = chain(on_event("login"))
    for i in range(count):
        graph["nodes"].append({"id": f"a{i}", "type": "add_label", "config": {"label": "x"}})
        graph["edges"].append({"from": "trigger", "output": "action", "to": f"a{i}"})
    return graph


def _wait(config):
    return chain(on_event("login"), {"id": "w", "type": "wait", "config": config}, _label("ok", "after"))


HUNDRED_YEARS = (dt.datetime.now(dt.UTC) + dt.timedelta(days=100 * 366)).strftime("%Y-%m-%dT%H:%M:%S")
BAD = [  # (graph, node, field, message)
    (chain(on_event("login"), _label("{{ 1 + }}")), "a", "reason", "does not parse"),
    (chain(on_event("login"), _label("{{ ''.__class__ }}")), "a", "reason", "outside the sandbox"),
    (chain(on_event("login"), _label("{''.__class__.__mro__}")), "a", "reason", "outside the sandbox"),
    (
        chain(on_event("login"), {"id": "p", "type": "point_add", "config": {"points": "event._secret * 2"}}),
        "p",
        "points",
        "outside the sandbox",
    ),
    (_fan_out(11), "trigger", "output", "At most 10 connections"),
    (_wait({"amount": 100 * 365, "unit": "days"}), "w", "amount", "at most 5 years"),
    (_wait({"until": HUNDRED_YEARS}), "w", "until", "at most 5 years"),
    (_wait({"until": "next tuesday"}), "w", "until", "not a date and time"),
    (_wait({"until": "2026-02-30T10:00:00"}), "w", "until", "not a date and time"),
    (chain(on_event("no_such_action"), _label("ok")), "trigger", "action", "no event 'no_such_action'"),
    (
        chain(
            {
                "id": "trigger",
                "type": "historical_trigger",
                "config": {"action": "login", "start": "2026-13-01", "end": "2026-12-01"},
            },
            _label("ok"),
            branch="on",
        ),
        "trigger",
        "start",
        "is not a 'date'",
    ),
    (
        chain(
            on_event("login"),
            {
                "id": "f",
                "type": "filter_event",
                "config": {
                    "conditions": {
                        "match": "all",
                        "conditions": [{"match": "all", "conditions": ["points>5"]}],
                    }
                },
            },
            _label("ok"),
        ),
        "f",
        "conditions.conditions[0].conditions[0]",
        "“points>5” is not a condition",
    ),
]


@pytest.mark.parametrize(("graph", "node", "field", "message"), BAD)
def test_each_bad_graph_is_a_clear_error_on_its_node_and_field(program, graph, node, field, message):
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(graph)
    errors = [e for e in caught.value.errors if message in e.message]
    assert errors, [e.message for e in caught.value.errors]
    assert (errors[0].node, errors[0].field) == (node, field)


@pytest.mark.parametrize(("graph", "node", "field", "message"), BAD)
def test_the_console_answers_each_with_the_error_never_a_500(
    admin_client, program, graph, node, field, message
):
    response = admin_client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": json.dumps(graph)}
    )
    assert response.status_code == 400
    assert any(e["node"] == node and message in e["message"] for e in response.context["graph_errors"])
    assert escape(message) in response.content.decode()
    imported = admin_client.post(
        reverse("workflows:workflow_import"),
        {"file": _upload({"format": "loyalty-workflow/1", "name": "W", "graph": graph})},
    )
    assert imported.status_code == 400
    assert not Workflow.objects.exists()


def _upload(document):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("w.json", json.dumps(document).encode(), content_type="application/json")


def test_a_trigger_on_a_custom_action_deleted_since_the_save_is_refused_on_activation(
    admin_client, program, api
):
    EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    clear_cache()
    workflow = make_workflow(chain(on_event("wishlist_add"), _label("ok")), active=False)
    EventDefinition.objects.filter(action="wishlist_add").update(active=False)  # switched off / removed
    clear_cache()
    response = admin_client.post(
        reverse("workflows:workflow_status", args=[workflow.pk, "activate"]), follow=True
    )
    assert response.status_code == 200
    assert "no event &#x27;wishlist_add&#x27;" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == "inactive"
    answer = api.post(f"/api/workflows/{workflow.pk}/activate")
    assert answer.status_code in (400, 409, 422) and "wishlist_add" in answer.json()["error"]["message"]
    EventDefinition.objects.filter(action="wishlist_add").delete()
    clear_cache()
    with pytest.raises(InvalidGraph, match="no event 'wishlist_add'"):
        editing.save_graph(workflow, chain(on_event("wishlist_add"), _label("changed")))


@pytest.mark.parametrize(
    "reason",
    [
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    ],
)
def test_a_pathological_expression_fails_its_node_and_the_event_is_stored(program, anna, on_commit, reason):
    workflow = make_workflow(chain(on_event("point_add"), _label(reason)))
    on_commit(lambda: factories.register("point_add", "Anna-1", data={"points": 3}))
    assert Event.objects.filter(action="point_add", customer=anna).exists()
    step = RunStep.objects.get(run=WorkflowRun.objects.get(workflow=workflow), node="a")
    assert step.output == "failure" and step.error
    assert WorkflowRun.objects.get(workflow=workflow).status == "error"


DEEP = "[" * 100_000 + "]" * 100_000  # Python's json parser: RecursionError, which was a 500


def test_deeply_nested_json_is_a_field_error_in_every_console_form(admin_client, program):
    saved = admin_client.post(reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": DEEP})
    assert saved.status_code == 200 and "nested deeper than 32" in saved.context["form"].errors["graph"][0]
    imported = admin_client.post(
        reverse("workflows:workflow_import"),
        {"file": _raw_upload(b'{"format": "loyalty-workflow/1", "graph": ' + DEEP.encode() + b"}")},
    )
    assert imported.status_code == 400 and "nested deeper than 32" in imported.content.decode()
    workflow = make_workflow(chain(on_event("login"), _label("ok")), active=False)
    tested = admin_client.post(
        reverse("workflows:workflow_test", args=[workflow.pk]), {"customer": "C-1", "data": DEEP}
    )
    assert tested.status_code == 400 and "nested deeper than 32" in tested.context["form"].errors["data"][0]
    form = admin_client.get(reverse("workflows:node_form"), {"type": "point_add", "config": DEEP})
    assert form.status_code == 200  # a malformed config shows the empty form, as before
    assert Workflow.objects.count() == 1


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"priority": 1e400}, "out of range"),  # infinity (int() raised OverflowError): not read
        ({"priority": 10**20}, "priority:"),  # past the column: a database error
        ({"name": "a\x00b"}, "name:"),  # PostgreSQL text cannot hold a NUL
        ({"description": "a\x00b"}, "description:"),
        ({"name": "n" * 201}, "name: Ensure this value has at most 200 characters"),  # was cut to 200
        ({"name": ["a", "b"]}, "name: must be a string, not list"),  # was stored as "['a', 'b']"
        ({"name": 5}, "name: must be a string, not int"),
        ({"description": {"x": 1}}, "description: must be a string, not dict"),
    ],
)
def test_an_imported_workflows_fields_are_checked_like_the_editors(admin_client, program, fields, message):
    document = {"format": "loyalty-workflow/1", "name": "W", "graph": chain(on_event("login"), _label("ok"))}
    text = json.dumps({**document, **fields}).replace("Infinity", "1e400")
    response = admin_client.post(reverse("workflows:workflow_import"), {"file": _raw_upload(text.encode())})
    assert response.status_code == 400
    assert message in response.context["form"].errors["file"][0]
    assert not Workflow.objects.exists()


def test_an_imported_workflow_in_utf16_is_still_read(admin_client, program):
    document = {"format": "loyalty-workflow/1", "name": "Wö", "graph": chain(on_event("login"), _label("ok"))}
    response = admin_client.post(
        reverse("workflows:workflow_import"), {"file": _raw_upload(json.dumps(document).encode("utf-16"))}
    )
    assert response.status_code == 302 and Workflow.objects.get().name == "Wö"


@pytest.mark.parametrize(
    "position, message", [("1e400", "out of range"), ("-1e400", "out of range"), ("NaN", "NaN")]
)
def test_an_infinite_node_position_is_a_field_error_not_a_500(admin_client, program, position, message):
    # NaN is not JSON (RFC 8259); 1e400 would be read as infinity (int() raised OverflowError).
    graph = json.dumps(chain(on_event("login"), _label("ok"))).replace(
        '"id": "a"', f'"x": {position}, "id": "a"'
    )
    response = admin_client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": graph}
    )
    assert response.status_code == 200 and message in response.context["form"].errors["graph"][0]
    assert not Workflow.objects.exists()


def test_a_position_that_is_no_finite_number_is_dropped_from_a_graph(program):
    # Graphs built in Python (the demo, tests) bypass the JSON parser: the layout keeps finite numbers only.
    graph = chain(on_event("login"), _label("ok"))
    for number, node in enumerate(graph["nodes"]):
        node["x"], node["y"] = float("inf"), float(number * 10)
    cleaned = validate_graph(graph)
    assert [("x" in node, node["y"]) for node in cleaned["nodes"]] == [
        (False, number * 10) for number in range(len(graph["nodes"]))
    ]


def _raw_upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("w.json", content, content_type="application/json")


def test_an_imported_workflow_without_a_name_gets_the_default_one(admin_client, program):
    document = {"format": "loyalty-workflow/1", "name": "", "graph": chain(on_event("login"), _label("ok"))}
    response = admin_client.post(
        reverse("workflows:workflow_import"), {"file": _raw_upload(json.dumps(document).encode())}
    )
    assert response.status_code == 302 and Workflow.objects.get().name == "Imported workflow"


_NODES_WITH_POINTS = ["point_add", "point_sub", "campaign_bonus", "referral_bonus"]


@pytest.mark.parametrize("points", [0, -5, 10**12 + 1, 10**30])
@pytest.mark.parametrize("kind", _NODES_WITH_POINTS)
def test_a_literal_number_of_points_the_engine_refuses_is_an_error_on_its_field(kind, points):
    """A literal of -5 or 10**30 points was saved and activated, then failed every run ("Points are
    out of range"); a whole number is now checked on save as an event's points are (1..10**12)."""
    graph = chain(on_event("login"), {"id": "a", "type": kind, "config": {"points": points}})
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(graph, in_campaign=True)
    assert [(e.node, e.field) for e in caught.value.errors] == [("a", "points")]
    graph["nodes"][1]["config"]["points"] = "{event.points} * 2"  # an expression: checked when it runs
    validate_graph(graph, in_campaign=True)


@pytest.mark.parametrize(
    "node",
    [
        {"id": "a", "type": "assign_coupon", "config": {"pool": 10**30}},
        {"id": "a", "type": "list_add", "config": {"list": 2**63}},
        {"id": "a", "type": "list_remove", "config": {"list": 10**30}},
    ],
)
def test_an_id_past_the_bigint_column_is_an_error_on_its_field(node):
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(chain(on_event("login"), node))
    assert [(e.node, e.field) for e in caught.value.errors] == [("a", next(iter(node["config"])))]


def test_a_segment_trigger_on_an_id_past_the_bigint_column_is_an_error_on_its_field():
    trigger = {"type": "segment_trigger", "config": {"segment": 10**30, "direction": "entered"}}
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(chain(trigger, _label("ok"), branch="on"))
    assert ("trigger", "segment") in [(e.node, e.field) for e in caught.value.errors]


def test_a_literal_out_of_range_is_refused_by_the_console_save_and_changes_nothing(admin_client, program):
    graph = chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 10**30}})
    response = admin_client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": json.dumps(graph)}
    )
    assert response.status_code == 400 and not Workflow.objects.exists()
    assert [(e["node"], e["field"]) for e in response.context["graph_errors"]] == [("a", "points")]


@pytest.mark.parametrize(
    "node, field",
    [
        ({"id": "a", "type": "add_label", "config": {"label": "a\x00b"}}, "label"),
        ({"id": "a", "type": "point_add", "config": {"points": 1, "reason": "a\x00"}}, "reason"),
        (
            {
                "id": "a",
                "type": "filter_customer",
                "config": {
                    "conditions": {
                        "match": "all",
                        "conditions": [{"field": "email", "operator": "eq", "value": "x\x00"}],
                    }
                },
            },
            "conditions.conditions[0].value",
        ),
        ({"id": "a", "type": "add_label", "config": {"label": "x", "\x00": 1}}, "config"),
    ],
)
def test_a_nul_character_in_a_nodes_configuration_is_an_error_on_its_field(
    admin_client, program, node, field
):
    """PostgreSQL's jsonb cannot store "\\u0000": a label with one was a 500 on save (DataError);
    any string or key in a configuration is now checked, on the node and its field."""
    graph = chain(on_event("login"), node, _label("ok", "after"))
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(graph)
    assert [(e.node, e.field) for e in caught.value.errors] == [("a", field)]
    response = admin_client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": json.dumps(graph)}
    )
    assert response.status_code == 400 and not Workflow.objects.exists()


@pytest.mark.parametrize(
    "graph",
    [
        {
            "nodes": [
                {"id": "trigger", **on_event("login")},
                {"id": "a", "type": ["add_label"], "config": {}},
            ],
            "edges": [],
        },
        {
            "nodes": [{"id": "trigger", **on_event("login")}, {"id": "a", "type": {"x": 1}, "config": {}}],
            "edges": [],
        },
        {
            "nodes": [{"id": "trigger", **on_event("login")}],
            "edges": [{"from": ["trigger"], "to": "trigger", "output": "action"}],
        },
        {
            "nodes": [{"id": "trigger", **on_event("login")}],
            "edges": [{"from": "trigger", "to": {"a": 1}, "output": "action"}],
        },
    ],
)
def test_a_node_type_or_connection_end_of_the_wrong_type_is_an_error_not_a_500(admin_client, program, graph):
    with pytest.raises(InvalidGraph):
        validate_graph(graph)
    response = admin_client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 1, "graph": json.dumps(graph)}
    )
    assert response.status_code == 400 and not Workflow.objects.exists()


def test_an_import_over_the_size_limit_says_so_and_is_never_read_cut(admin_client, program):
    """A file over 1 MB was cut at 1 MB and parsed: the error named an unterminated string (or a
    broken UTF-8 byte), and a file padded with spaces past the limit was imported from its cut."""
    document = {"format": "loyalty-workflow/1", "name": "W", "graph": chain(on_event("login"), _label("ok"))}
    for text in (json.dumps({**document, "pad": "x" * 1_000_000}), json.dumps(document) + " " * 1_000_000):
        response = admin_client.post(
            reverse("workflows:workflow_import"), {"file": _raw_upload(text.encode())}
        )
        assert response.status_code == 400
        assert "larger than 1,000,000 bytes" in response.context["form"].errors["file"][0]
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"no_such_attribute": "x"}, "'no_such_attribute' is not a customer attribute"),
        ({"": "x"}, "'' is not a customer attribute"),
        ({"score": "5"}, "'score' is read-only"),
        ({"nickname": "ok", "k" * 5000: "x"}, "is not a customer attribute"),
    ],
)
@pytest.mark.parametrize("branch", ["modifier", "action"])
def test_modify_customer_names_an_attribute_it_can_never_set_on_save(values, message, branch):
    """An unknown or read-only attribute was saved and activated, then failed every run."""
    node = {"id": "m", "type": "modify_customer", "config": {"set": values}}
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(chain(on_event("login"), node, branch=branch))
    errors = [(e.node, e.field) for e in caught.value.errors]
    assert errors == [("m", "set")] and message in caught.value.errors[0].message


def test_modify_customer_takes_built_in_custom_label_and_referrer_attributes(program):
    factories.CustomFieldFactory(name="shoe_size")
    factories.CustomFieldFactory(name="member_no", read_only=True)
    values = {"nickname": "n", "city": "c", "labels": "vip", "referrer": "", "shoe_size": "42"}
    validate_graph(
        chain(on_event("login"), {"id": "m", "type": "modify_customer", "config": {"set": values}})
    )
    node = {"id": "m", "type": "modify_customer", "config": {"set": {"member_no": "1"}}}
    with pytest.raises(InvalidGraph, match="'member_no' is read-only"):
        validate_graph(chain(on_event("login"), node))


@pytest.mark.parametrize("action", ["campaign_bonus", "tier_review", "daily_login", "ban", "unban"])
def test_a_trigger_event_of_an_action_no_workflow_may_register_is_refused_on_save(program, action):
    """Trigger event registers with source automation: an internal event (the engine's own) or a
    console-only one was saved and activated, then refused by the engine on every run."""
    graph = chain(on_event("login"), {"id": "t", "type": "trigger_event", "config": {"action": action}})
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(graph, in_campaign=True)
    assert [(e.node, e.field) for e in caught.value.errors] == [("t", "action")]


def test_every_internal_or_console_only_action_is_refused_and_the_others_are_not(program):
    from events.definitions import BUILTIN_ACTIONS

    for action, spec in BUILTIN_ACTIONS.items():
        graph = chain(on_event("login"), {"id": "t", "type": "trigger_event", "config": {"action": action}})
        if spec.internal or spec.console_only:
            with pytest.raises(InvalidGraph):
                validate_graph(graph, in_campaign=True)
        else:
            validate_graph(graph, in_campaign=True)
