"""Test run (the editor's dry run): the workflow against a chosen customer and a sample event,
showing the path and the effects, then everything is rolled back — nothing is stored.

The sample event goes through `register_event` like a real one (so its handler, points and
follow-ups are real), with every other workflow kept out (the automation depth is at its limit);
the tested version's modifier branch runs first, then its action branch, inside one transaction
that is rolled back at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from customers.lookup import find_customer
from events import engine
from events.choices import EventSource
from events.models import Event
from loyalty import clock
from loyalty.errors import EngineError, NotFound

from . import logs, runner, triggers
from .graph import Graph
from .models import RunStep, Workflow
from .nodes import REGISTRY


@dataclass
class TestResult:
    steps: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    status: str = ""
    error: str = ""
    interrupted: dict | None = None


class _Rollback(Exception):
    pass


def test_run(workflow: Workflow, customer_ref: str, data: dict) -> TestResult:
    """Raises EngineError for a customer that does not exist or a sample event the engine refuses."""
    version = workflow.version
    if version is None:
        raise NotFound("Save a graph first.", field="graph")
    graph = Graph(version.graph)
    trigger = graph.trigger or {}
    outcome = TestResult()
    try:
        with transaction.atomic():
            customer = find_customer(workflow.environment, customer_ref)
            if customer is None:
                raise NotFound(f"No customer {customer_ref!r}.", field="customer")
            now = clock.now(workflow.environment)
            event = None
            with triggers.automation(triggers.max_depth(), None):  # no other workflow runs
                if trigger.get("type") == "event_trigger":
                    action = trigger["config"]["action"]
                    spec, _custom, extra = engine.resolve_spec(action)
                    active = triggers.Active(
                        workflow.pk, workflow.name, workflow.priority, version.pk, graph, trigger["id"]
                    )
                    try:
                        data, modifier = triggers._modifier_branch(
                            active, customer, action, spec, extra, data, now
                        )
                    except triggers.WorkflowInterrupt as interrupt:
                        outcome.interrupted = {"code": interrupt.code, "message": interrupt.message}
                        outcome.steps = [
                            dict(s, branch="modifier", label=REGISTRY[s["type"]].label, event_id=None)
                            for s in interrupt.run["steps"]
                        ]
                        outcome.status = "interrupted"
                        raise _Rollback from None
                    event = engine.register_event(
                        environment=workflow.environment,
                        customer=customer,
                        action=action,
                        data=data,
                        source=EventSource.PLATFORM,
                        reason="Workflow test run",
                    ).event
                else:
                    modifier = {"steps": [], "vars": {}}
                run, _ = logs.start_run(
                    workflow=workflow,
                    version=version,
                    customer=customer,
                    trigger="test run",
                    now=now,
                    event=event,
                    occurrence="" if event is not None else "test-run",
                    depth=triggers.max_depth(),
                    variables=modifier["vars"],
                    modifier_steps=modifier["steps"],
                )
                runner.execute(run)
            run.refresh_from_db()
            outcome.status = run.status
            outcome.error = run.error
            outcome.steps = [
                {
                    "node": s.node,
                    "type": s.node_type,
                    "branch": s.branch,
                    "output": s.output,
                    "detail": s.detail,
                    "error": s.error,
                }
                for s in RunStep.objects.filter(run=run).order_by("id")
            ]
            made = Event.objects.filter(workflow_id=workflow.pk, customer=customer, timestamp__gte=now)
            if event is not None:
                made = made | Event.objects.filter(pk=event.pk)
            outcome.events = [
                {"action": e.action, "points": e.points, "data": e.data, "source": e.source}
                for e in made.order_by("id")
            ]
            raise _Rollback
    except _Rollback:
        pass
    except EngineError:
        raise
    return outcome
