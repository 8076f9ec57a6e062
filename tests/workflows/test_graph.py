"""Saving a graph validates all of it; expressions stay in the sandbox."""

from pathlib import Path

import pytest

from loyalty import expressions
from workflows import editing
from workflows.graph import MAX_NODES, InvalidGraph, validate_graph
from workflows.models import Workflow
from workflows.nodes import REGISTRY
from workflows.nodes.docs import markdown

from .conftest import chain, on_event

pytestmark = pytest.mark.django_db


def _errors(graph, **kwargs) -> list[dict]:
    with pytest.raises(InvalidGraph) as caught:
        validate_graph(graph, **kwargs)
    return [error.as_dict() for error in caught.value.errors]


def _messages(graph, **kwargs) -> str:
    return " | ".join(error["message"] for error in _errors(graph, **kwargs))


def test_a_valid_graph_is_returned_normalized(program):
    graph = chain(
        on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 5}, "x": 10.7, "junk": 1}
    )
    clean = validate_graph(graph)
    assert clean["nodes"][1] == {"id": "a", "type": "point_add", "config": {"points": 5}, "x": 10}


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ("nope", "is an object"),
        ({"nodes": [], "edges": []}, "exactly one trigger"),
        (
            chain(on_event("no_such_action"), {"id": "a", "type": "point_add", "config": {"points": 1}}),
            "no event 'no_such_action'",
        ),
        (
            chain(on_event("login"), {"id": "a", "type": "point_add", "config": {}}),
            "'points' is a required property",
        ),
        (chain(on_event("login"), {"id": "a", "type": "teleport", "config": {}}), "Unknown node type"),
        (
            chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": "{{ 1 + }}"}}),
            "does not parse",
        ),
        (
            chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": "''.__class__"}}),
            "outside the sandbox",
        ),
        (
            chain(
                on_event("login"), {"id": "a", "type": "interrupt", "config": {"code": 12345, "message": "x"}}
            ),
            "cannot run after",
        ),
        (
            chain(
                on_event("login"),
                {"id": "a", "type": "point_add", "config": {"points": 1}},
                branch="modifier",
            ),
            "cannot run before",
        ),
        (
            chain(
                on_event("login"),
                {"id": "w", "type": "wait", "config": {"amount": 100 * 365, "unit": "days"}},
                {"id": "a", "type": "point_add", "config": {"points": 1}},
            ),
            "at most 5 years",
        ),
        (
            chain(on_event("login"), {"id": "f", "type": "filter_random", "config": {"percent": 50}}),
            "lead nowhere",
        ),
        (
            chain(on_event("login"), {"id": "b", "type": "campaign_bonus", "config": {"points": 1}}),
            "only a campaign",
        ),
        (
            chain(
                on_event("login"),
                {
                    "id": "c",
                    "type": "filter_customer",
                    "config": {
                        "conditions": {"conditions": [{"field": "nonsense", "operator": "eq", "value": "1"}]}
                    },
                },
            ),
            "nonsense",
        ),
    ],
)
def test_a_bad_graph_is_refused_with_the_reason_on_the_node(program, graph, expected):
    assert expected in _messages(graph)


def test_loops_and_unreachable_nodes_are_refused(program):
    graph = chain(
        on_event("login"),
        {"id": "a", "type": "filter_random", "config": {"percent": 50}},
        {"id": "b", "type": "filter_random", "config": {"percent": 50}},
    )
    graph["edges"].append({"from": "b", "output": "success", "to": "a"})
    assert "loop" in _messages(graph)
    lonely = chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 1}})
    lonely["nodes"].append({"id": "z", "type": "add_label", "config": {"label": "x"}})
    errors = _errors(lonely)
    assert errors == [{"message": "Add label: not reachable from the trigger.", "node": "z", "field": None}]


def test_huge_graphs_and_fan_outs_are_refused(program):
    nodes = [{"id": f"n{i}", "type": "add_label", "config": {"label": "x"}} for i in range(MAX_NODES + 1)]
    assert "at most" in _messages({"nodes": nodes, "edges": []})
    graph = chain(on_event("login"))
    for i in range(11):
        graph["nodes"].append({"id": f"a{i}", "type": "add_label", "config": {"label": "x"}})
        graph["edges"].append({"from": "trigger", "output": "action", "to": f"a{i}"})
    assert "At most 10 connections" in _messages(graph)


def test_every_save_of_a_changed_graph_is_a_new_version_and_an_unchanged_one_is_not(program):
    workflow = Workflow.objects.create(name="W")
    first = editing.save_graph(
        workflow, chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 1}})
    )
    same = editing.save_graph(
        workflow, chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 1}})
    )
    second = editing.save_graph(
        workflow, chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 2}})
    )
    assert (first.number, same.pk, second.number) == (1, first.pk, 2)
    workflow.refresh_from_db()
    assert workflow.version == second and workflow.trigger_action == "login"
    with pytest.raises(ValueError, match="immutable"):
        first.save()


def test_activation_needs_a_saved_graph(program):
    workflow = Workflow.objects.create(name="W")
    with pytest.raises(InvalidGraph):
        editing.set_status(workflow, True)


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "''.__class__.__mro__",
        "event.__init__",
        "{{ cycler.__init__.__globals__ }}",
        "range(10**9)|list",
    ],
)
def test_expressions_cannot_leave_the_sandbox(text):
    with pytest.raises(expressions.ExpressionError):
        expressions.check_expression(text)
        expressions.evaluate(text, {"event": {}})


def test_single_brace_placeholders_are_the_reference_form():
    namespace = {"event": {"points": 12}, "customer": {"_id": "Anna-1"}}
    assert expressions.evaluate_points("{event.points} * 2", namespace) == 24
    assert expressions.evaluate_points("{{ event.points }} / 5", namespace) == 2
    assert expressions.render("/customers/{customer._id}", namespace) == "/customers/Anna-1"


def test_every_node_type_has_a_schema_the_registry_can_check_and_docs_for():
    for node in REGISTRY.values():
        assert node.schema["type"] == "object", node.name
        assert node.label and node.family in ("trigger", "filter", "action", "modifier", "flow")
        assert isinstance(node.schema.get("properties"), dict), node.name


def test_the_node_reference_page_is_generated_from_the_schemas():
    page = Path(__file__).resolve().parents[2] / "docs" / "workflow-nodes.md"
    assert page.read_text() == markdown(), "regenerate docs/workflow-nodes.md (workflows.nodes.docs)"
    for node in REGISTRY.values():
        assert f"(`{node.name}`)" in page.read_text()
