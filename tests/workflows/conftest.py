"""Workflows test helpers: the module on, a workflow from a graph, graphs in a few lines."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories
from tests.api.conftest import api, live_key  # noqa: F401  (fixtures)
from workflows import editing
from workflows.models import Campaign, Workflow


@pytest.fixture
def program(program):
    program.workflows = True
    program.save()
    return program


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the queued action branch; tasks run inline in tests)."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def chain(trigger: dict, *nodes: dict, branch: str = "action") -> dict:
    """A graph: the trigger, then each node after the previous one's success (or given) output.
    A node may carry "_after": (node id, output) to attach elsewhere."""
    graph = {"nodes": [{"id": "trigger", **trigger}], "edges": []}
    previous, output = "trigger", branch
    for node in nodes:
        node = dict(node)
        after = node.pop("_after", None)
        source, out = after if after else (previous, output)
        graph["nodes"].append(node)
        graph["edges"].append({"from": source, "output": out, "to": node["id"]})
        previous, output = node["id"], "then" if node["type"] == "wait" else "success"
    return graph


def on_event(action: str) -> dict:
    return {"type": "event_trigger", "config": {"action": action}}


def make_workflow(
    graph: dict, *, name="Test workflow", campaign=None, active=True, environment="live", priority=100
):
    workflow = Workflow.objects.create(
        name=name, campaign=campaign, environment=environment, priority=priority
    )
    editing.save_graph(workflow, graph)
    if active:
        editing.set_status(workflow, True)
    workflow.refresh_from_db()
    return workflow


def make_campaign(**fields) -> Campaign:
    now = timezone.now()
    values = {
        "name": "Weekend",
        "starts_at": now - dt.timedelta(days=1),
        "ends_at": now + dt.timedelta(days=1),
    }
    return Campaign.objects.create(**{**values, **fields})


__all__ = ["chain", "on_event", "make_workflow", "make_campaign", "factories"]
