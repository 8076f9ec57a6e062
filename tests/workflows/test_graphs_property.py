"""Random small graphs against a reference interpreter (Hypothesis): whatever the shape, the runner
passes exactly the nodes the reference walk reaches and applies each label action once."""

import itertools

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests import factories
from workflows import editing, logs, runner
from workflows.graph import InvalidGraph, validate_graph
from workflows.models import RunStep, Workflow

pytestmark = pytest.mark.django_db
_numbers = itertools.count()

KINDS = ("pass", "block", "channel", "label")


@st.composite
def graphs(draw):
    size = draw(st.integers(min_value=1, max_value=6))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(size)]
    nodes = [{"id": "trigger", "type": "event_trigger", "config": {"action": "login"}}]
    for index, kind in enumerate(kinds):
        node_id = f"n{index}"
        if kind == "pass":
            nodes.append({"id": node_id, "type": "filter_random", "config": {"percent": 100}})
        elif kind == "block":
            nodes.append({"id": node_id, "type": "filter_random", "config": {"percent": 0}})
        elif kind == "channel":
            tree = {"conditions": [{"field": "channel", "operator": "eq", "value": "app"}]}
            nodes.append({"id": node_id, "type": "filter_event", "config": {"conditions": tree}})
        else:
            nodes.append({"id": node_id, "type": "add_label", "config": {"label": f"l{index}"}})
    edges = []
    for index in range(size):  # edges only forward: acyclic by construction
        sources = ["trigger", *[f"n{i}" for i in range(index) if kinds[i] != "label"]]
        for source in draw(st.lists(st.sampled_from(sources), min_size=1, max_size=2, unique=True)):
            output = "action" if source == "trigger" else draw(st.sampled_from(["success", "failure"]))
            edges.append({"from": source, "output": output, "to": f"n{index}"})
    channel = draw(st.sampled_from(["app", "web"]))
    return {"nodes": nodes, "edges": edges}, channel


def reference(graph: dict, channel: str) -> tuple[set[str], set[str]]:
    """(nodes passed, labels expected) by the documented semantics, written independently."""
    kinds = {n["id"]: n for n in graph["nodes"]}
    passed, labels, frontier = set(), set(), [("trigger", "action")]
    while frontier:
        source, output = frontier.pop()
        for edge in graph["edges"]:
            if edge["from"] != source or edge["output"] != output or edge["to"] in passed:
                continue
            node = kinds[edge["to"]]
            passed.add(node["id"])
            if node["type"] == "add_label":
                labels.add(node["config"]["label"])
                frontier.append((node["id"], "success"))
            elif node["type"] == "filter_random":
                frontier.append((node["id"], "success" if node["config"]["percent"] == 100 else "failure"))
            else:
                frontier.append((node["id"], "success" if channel == "app" else "failure"))
    return passed, labels


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(case=graphs())
def test_the_runner_agrees_with_the_reference_walk(program, case):
    graph, channel = case
    try:
        validate_graph(graph)
    except InvalidGraph:
        assume(False)
    customer_id = f"Prop-{next(_numbers)}"
    customer = factories.enroll(customer_id)
    event = factories.register("login", customer_id).event
    workflow = Workflow.objects.create(name=customer_id)
    version = editing.save_graph(workflow, graph)
    run, _ = logs.start_run(
        workflow=workflow, version=version, customer=customer, trigger="t", now=event.timestamp, event=event
    )
    run.trigger_event.data = {"channel": channel}  # the sample attribute the filters read
    runner.execute(run)
    runner.execute(run)  # replayed: nothing applied twice
    passed, labels = reference(graph, channel)
    assert set(RunStep.objects.filter(run=run).values_list("node", flat=True)) == passed
    assert set(factories.live(customer_id).labels.values_list("name", flat=True)) == labels
