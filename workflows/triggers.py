"""The engine's hook for Event-triggered workflows (called by events.engine, below it).

`before_store` runs inside register_event's transaction, after the customer is locked and
before the event is stored:

1. the **modifier branch** of each active workflow on this action (priority order): filters,
   Variable assign, Modify event (changes the event's data, re-validated like the request's),
   Modify customer (changes the locked customer row, written with the event) and Interrupt (raises `WorkflowInterrupt`, an EngineError carrying the configured 5-digit
   code: nothing is stored and the API answers with it). Bounded: a graph has at most 100 nodes
   and no loops; customer filters are one query each.
2. the **action branch**, after commit: `after_store` (called by the engine once the event and
   its follow-ups are stored, still in their transaction) writes one outbox row for the events
   that active workflows trigger on (workflows.outbox), committed or rolled back with them; on
   commit a drain task walks it (workflows.tasks.drain_outbox). Nothing is written when no
   workflow listens.

Loop protection: events registered by a workflow run (`automation`, a context variable set by
workflows.runner) carry its depth; at WORKFLOW_MAX_DEPTH no workflow triggers, and a workflow
never triggers on its own events.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from customers.attributes import EVENT_KEYS, apply_attributes
from customers.models import Customer
from events.validation import validate_data
from loyalty import configcache, expressions
from loyalty.errors import EngineError, WorkflowInterrupted

from . import evaluate, logs, outbox
from .choices import TriggerType, WorkflowStatus
from .graph import Graph
from .models import Workflow

log = logging.getLogger("loyalty.workflows")
CACHE_KEY = "workflows:event-triggers"
_automation: contextvars.ContextVar[tuple[int, int | None]] = contextvars.ContextVar(
    "workflow_automation", default=(0, None)
)


def max_depth() -> int:
    return int(getattr(settings, "WORKFLOW_MAX_DEPTH", 3))


@contextlib.contextmanager
def automation(depth: int, workflow_id: int):
    """Events registered inside are a workflow's, `depth` levels below an outside event."""
    token = _automation.set((depth, workflow_id))
    try:
        yield
    finally:
        _automation.reset(token)


class WorkflowInterrupt(WorkflowInterrupted):
    """An Interrupt node refused the event (reference: InterruptException, 127201 unless the node
    sets its own code); carries the run to log after the rollback."""

    def __init__(self, message: str, *, code: int, run: dict):
        super().__init__(message, code=code)
        self.run = run
        self.logged: int | None = None  # the run logged for it (gone if a caller rolled it back)

    def after_rollback(self) -> None:
        """Log the interrupted run again when a caller's rollback took the first log with it (the
        API's error handler calls this after the request's transaction rolled back)."""
        if self.logged is not None and not logs.run_exists(self.logged):
            self.logged = logs.store_interrupted_run(self.run)


@dataclass(frozen=True)
class Active:
    id: int
    name: str
    priority: int
    version_id: int
    graph: Graph
    trigger_id: str
    environment: str = "live"
    campaign_id: int | None = None

    @property
    def pk(self) -> int:  # expressions read workflow.pk / workflow.name
        return self.id

    def row(self) -> Workflow:
        """A Workflow instance for a run (its foreign key, name, environment, campaign), made
        without a query; a fresh one each time, so nothing cached on it is shared between runs."""
        return Workflow(
            pk=self.id,
            name=self.name,
            environment=self.environment,
            campaign_id=self.campaign_id,
            priority=self.priority,
            status=WorkflowStatus.ACTIVE,
            trigger_type=TriggerType.EVENT,
            version_id=self.version_id,
        )


def _load() -> dict[tuple[str, str], list[Active]]:
    table: dict[tuple[str, str], list[Active]] = {}
    rows = (
        Workflow.objects.filter(
            status=WorkflowStatus.ACTIVE, trigger_type=TriggerType.EVENT, version__isnull=False
        )
        .select_related("version")
        .order_by("priority", "id")
    )
    for wf in rows:
        graph = Graph(wf.version.graph)
        if graph.trigger is None:
            continue
        table.setdefault((wf.environment, wf.trigger_action), []).append(
            Active(
                wf.pk,
                wf.name,
                wf.priority,
                wf.version_id,
                graph,
                graph.trigger["id"],
                wf.environment,
                wf.campaign_id,
            )
        )
    return table


def active_event_workflows() -> dict[tuple[str, str], list[Active]]:
    """{(environment, action): active workflows, by priority}, kept in process memory."""
    return configcache.get(CACHE_KEY, _load)


def before_store(result, *, program, environment, customer, action, spec, extra, data, now, meta) -> dict:
    """Run the modifier branches; note what `after_store` needs for the action branches. Returns
    the event's data."""
    if not program.workflows:
        return data
    table = active_event_workflows()
    if not table or not any(key[0] == environment for key in table):
        return data
    depth, origin = _automation.get()
    if depth >= max_depth():
        return data
    logs: dict[str, dict] = {}
    shared: dict = {}  # the customer's expression values, built once for all the workflows
    for wf in table.get((environment, action), ()):
        if wf.id == origin or not wf.graph.has_branch("modifier"):
            continue
        data, logs[str(wf.id)] = _modifier_branch(wf, customer, action, spec, extra, data, now, shared)
    result.extra["workflow_modifiers"] = logs  # what the action branches start from (workflows.preview)
    result.extra["workflow_trigger"] = (environment, depth, origin)
    return data


def _modifier_branch(
    wf: Active, customer: Customer, action, spec, extra, data, now, shared: dict | None = None
) -> tuple[dict, dict]:
    if shared is None:
        shared = {}
    kept = shared.get("event")
    if kept is None or kept[0] is not data:  # built once per event (and again after Modify event)
        kept = shared["event"] = (data, evaluate.event_namespace(action, data))
    state = evaluate.State(
        event=kept[1],  # read only: expressions run in the immutable sandbox
        customer_row=customer,
        variables={},
        workflow=wf,
        now=now,
        shared=shared,
    )
    steps: list[dict] = []
    queue, seen = list(wf.graph.targets(wf.trigger_id, "modifier")), set()
    while queue:
        node_id = queue.pop(0)
        if node_id in seen:
            continue
        seen.add(node_id)
        node = wf.graph.nodes[node_id]
        kind, config = node["type"], node["config"]
        state.detail, error, output = {}, "", ""
        try:
            if kind.startswith("filter_"):
                plan = evaluate.node_plan(kind, config, wf.version_id, node_id)
                output = evaluate.run_filter(kind, config, state=state, plan=plan)
            elif kind == "variable_assign":
                evaluate.assign_variable(
                    config, state, evaluate.node_plan(kind, config, wf.version_id, node_id)
                )
                output = "success"
            elif kind == "modify_event":
                data = _modify_event(config, state, spec, extra, data)
                shared["event"] = (data, state.event)  # the next workflows read the changed event
                output = "success"
            elif kind == "modify_customer":
                _modify_customer(config, state, customer)
                output = "success"
            elif kind == "interrupt":
                message = _render(config["message"], state)
                steps.append(_step(node, "", {"code": config["code"], "message": message}, "", now))
                raise WorkflowInterrupt(
                    message,
                    code=int(config["code"]),
                    run={
                        "workflow": wf.id,
                        "version": wf.version_id,
                        "customer": customer.pk,
                        "action": action,
                        "steps": steps,
                        "vars": state.vars,
                        "now": now.isoformat(),
                    },
                )
        except evaluate.NodeFailed as failure:
            error, output = failure.message, "failure"
        steps.append(_step(node, output, state.detail, error, now))
        queue.extend(wf.graph.targets(node_id, output))
    return data, {"version": wf.version_id, "steps": steps, "vars": state.vars}


def _render(text: str, state) -> str:
    try:
        return expressions.render(text, state.namespace())
    except expressions.ExpressionError as error:
        return f"{text} ({error.message})"


def _modify_event(config: dict, state, spec, extra, data: dict) -> dict:
    changed = dict(data)
    for key, expression in config["set"].items():
        try:
            changed[key] = evaluate.plain(expressions.evaluate(expression, state.namespace()))
        except expressions.ExpressionError as error:
            raise evaluate.NodeFailed(f"{key}: {error.message}") from None
    try:
        clean = validate_data(spec, changed, extra)
    except EngineError as error:
        raise evaluate.NodeFailed(f"The modified event is not valid: {error.message}") from None
    state.detail = {"set": {key: clean.get(key) for key in config["set"]}}
    state.event = evaluate.event_namespace(state.event["action"], clean)
    return clean


@dataclass
class _AttributeChange:
    """What customers.attributes.apply_attributes reads of a handler's context."""

    customer: Customer
    data: dict
    environment: str
    extra_attrs: tuple = ()


def _modify_customer(config: dict, state, customer: Customer) -> None:
    """Modify customer on the modifier branch: set the locked customer's attributes (`set`: name
    -> template) before the event is stored. The engine writes the changed columns with the
    event's own customer update (events.engine._apply compares against the row as locked), so the
    change commits or rolls back with the event — an Interrupt later, or a refusal of the event's
    handler, leaves no trace. The event's own attributes are applied after it (a profile event
    setting the same attribute wins). Validated like a profile event's attributes
    (customers.attributes); a refusal fails the node and restores the row as it was."""
    values = {}
    for key, template in config["set"].items():
        if key in EVENT_KEYS:
            raise evaluate.NodeFailed(f"{key}: not a customer attribute.")
        try:
            values[key] = expressions.render(template, state.namespace())
        except expressions.ExpressionError as error:
            raise evaluate.NodeFailed(f"{key}: {error.message}") from None
    before = {field.attname: getattr(customer, field.attname) for field in customer._meta.concrete_fields}
    try:
        with transaction.atomic():  # labels and external IDs are rows of their own
            apply_attributes(_AttributeChange(customer, values, customer.environment))
    except EngineError as error:
        for name, value in before.items():
            setattr(customer, name, value)
        raise evaluate.NodeFailed(f"The customer cannot be modified: {error.message}") from None
    state.detail = {"set": values}
    state.customer_changed()


def _step(node: dict, output: str, detail: dict, error: str, now) -> dict:
    return {"node": node["id"], "type": node["type"], "output": output, "detail": detail, "error": error}


def outbox_statement(result) -> tuple[str, list] | None:
    """The outbox row's INSERT for the events stored so far (None: no action branch listens, or
    not PostgreSQL), for the engine to send with the customer's UPDATE in one round trip; the
    events it names are left out by `after_store`. The row is the one `after_store` writes."""
    if "workflow_trigger" not in result.extra or connection.vendor != "postgresql":
        return None
    wanted = _wanted(result)
    result.extra["workflow_outbox_sent"] = {event.pk for event in result.events}
    return _outbox_row(result, wanted, outbox.statement) if wanted else None


def after_store(result) -> None:
    """The action branches' outbox row for the stored event and its follow-ups, in their
    transaction (register_event calls this after storing them; nothing when before_store found
    no workflow to run, or none listens to these actions). Events already named by the row of
    `outbox_statement` are left out (a follow-up stored after it gets a row of its own)."""
    if "workflow_trigger" not in result.extra:
        return
    sent = result.extra.get("workflow_outbox_sent")
    wanted = _wanted(result, sent)
    if wanted:
        _outbox_row(result, wanted, outbox.record, main=sent is None)


def _wanted(result, sent: set | None = None) -> list[int]:
    environment, _depth, origin = result.extra["workflow_trigger"]
    table = active_event_workflows()
    return [
        event.pk
        for event in result.events
        if event.customer_id is not None
        and (sent is None or event.pk not in sent)
        and any(wf.id != origin for wf in table.get((environment, event.action), ()))
    ]


def _outbox_row(result, wanted: list[int], write, *, main: bool = True):
    environment, depth, origin = result.extra["workflow_trigger"]
    return write(
        environment,
        wanted,
        depth,
        origin,
        result.event.pk if main and result.event is not None else None,
        (result.extra.get("workflow_modifiers") or {}) if main else {},
    )


def record_interrupt(interrupt: WorkflowInterrupt, *, dry_run: bool) -> None:
    """Log the interrupted run once the event's transaction has rolled back (its event is not
    stored; the run is, with the customer when the customer row still exists). Inside a caller's
    transaction (an API request's), that caller's rollback comes first: `after_rollback`."""
    if not dry_run:
        interrupt.logged = logs.store_interrupted_run(interrupt.run)
