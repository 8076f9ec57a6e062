"""The action branch: walking a run's graph on the task queue, exactly once per node.

`execute(run)` walks from the trigger's action output (``on`` for the other triggers). Every
node passed is a `RunStep`, unique per (run, node). An action's step is written in the **same
transaction** as the events it registers, so when a task is delivered twice (or a worker dies
after some nodes), the second walk finds the step and follows its recorded output instead of
acting again: the key of an effect is (run, version, node), `RunStep.idempotency_key`. A node
without a step is evaluated now; a filter's recorded outcome is replayed, not re-evaluated.

A Wait writes its step with the moment it ends and parks the run (status waiting, resume_at);
`workflows.tasks.tick` resumes it on that environment's clock (the sandbox's test clock), and the
walk replays up to the wait and goes on along ``then``.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from customers.models import Customer
from events.models import Event
from loyalty import clock, expressions, fastsql
from loyalty.errors import EngineError

from . import evaluate, logs
from .actions import ACTIONS, SINGLE_REGISTER, ActionContext
from .choices import RunStatus
from .graph import Graph, wait_delta
from .models import RunStep, WorkflowRun

log = logging.getLogger("loyalty.workflows")


def _state(run: WorkflowRun, customer: Customer | None, now: dt.datetime) -> evaluate.State:
    event = run.trigger_event
    values = (
        evaluate.event_namespace(event.action, event.data or {}, event.points, event.transaction_id, event.pk)
        if event is not None
        else {}
    )
    return evaluate.State(
        event=values, customer_row=customer, variables=dict(run.vars or {}), workflow=run.workflow, now=now
    )


def execute(
    run: WorkflowRun, *, dry_run: bool = False, fresh: bool = False, one_transaction: bool = False
) -> WorkflowRun:
    """Walk the run's version from the start, replaying recorded steps; returns the run.
    `fresh`: the run was created just now without steps (no query for recorded ones).
    `one_transaction` (with `fresh`, never with `dry_run`): the caller runs the whole walk in one
    transaction that created the run row, so no other delivery can write its steps before the
    commit; the steps are then written at the end with the run's outcome (PostgreSQL: one round
    trip, `logs.finish`) instead of one INSERT and savepoint each. An action's events still
    commit with its step: the same transaction."""
    defer: list[RunStep] | None = [] if one_transaction and fresh and not dry_run else None
    graph = Graph(run.version.graph)
    if graph.trigger is None:
        return run
    now = clock.now(run.environment)
    customer = fastsql.first(Customer, "id = %s", [run.customer_id]) if run.customer_id else None
    state = _state(run, customer, now)
    done = {} if fresh else {step.node: step for step in run.steps.all()}
    walked: list[RunStep] = []
    for step in done.values():  # variables assigned before (either branch) are known again
        if step.node_type == "variable_assign" and "name" in step.detail:
            state.vars[step.detail["name"]] = step.detail.get("value")
    start = "action" if graph.trigger["type"] == "event_trigger" else "on"
    queue, seen, parked = list(graph.targets(graph.trigger["id"], start)), set(), []
    while queue:
        node_id = queue.pop(0)
        if node_id in seen:
            continue
        seen.add(node_id)
        node = graph.nodes[node_id]
        step = done.get(node_id)
        if step is None:
            step = _run_node(run, node, customer, state, now, defer)
            walked.append(step)
        if node["type"] == "wait":
            ends = parse_datetime(step.detail.get("until") or "")
            if ends is not None and ends > now:
                parked.append(ends)
                continue
            output = "then"
        else:
            output = step.output
        if output:
            queue.extend(graph.targets(node_id, output))
    run.vars = state.vars
    if not dry_run:
        logs.finish(run, parked=parked, steps=[*done.values(), *walked], unsaved=defer)
    return run


def _new_step(run, node, now, **fields) -> RunStep:
    return RunStep(run=run, node=node["id"], node_type=node["type"], branch="action", at=now, **fields)


def _run_node(run: WorkflowRun, node: dict, customer, state: evaluate.State, now, defer) -> RunStep:
    kind, config = node["type"], node["config"]
    state.detail = {}
    if kind in ACTIONS:
        return _run_action(run, node, customer, state, now, defer)
    output, error = "", ""
    try:
        if kind.startswith("filter_"):
            plan = evaluate.node_plan(kind, config, run.version_id, node["id"])
            output = evaluate.run_filter(kind, config, state=state, plan=plan)
        elif kind == "variable_assign":
            evaluate.assign_variable(
                config, state, evaluate.node_plan(kind, config, run.version_id, node["id"])
            )
            output = "success"
        elif kind == "ab_test":
            output = evaluate.ab_variant(config, workflow_id=run.workflow_id, customer_pk=run.customer_id)
            state.detail = {"variant": output}
        elif kind == "wait":
            state.detail = {"until": _wait_until(config, state, now).isoformat()}
        else:
            raise evaluate.NodeFailed(f"{kind} cannot run after the event is stored.")
    except evaluate.NodeFailed as failure:
        output, error = "failure", failure.message
    return _save_step(run, _new_step(run, node, now, output=output, detail=state.detail, error=error), defer)


def _wait_until(config: dict, state, now: dt.datetime) -> dt.datetime:
    delta = wait_delta(config)
    if delta is not None:
        return now + delta
    until = parse_datetime(str(config.get("until") or ""))
    if until is None:
        raise evaluate.NodeFailed("Wait: the date does not parse.")
    if until.tzinfo is None:
        until = until.replace(tzinfo=clock.zone())
    return until


def _save_step(run, step: RunStep, defer: list[RunStep] | None) -> RunStep:
    """Write the step now, or (`defer`: a list) keep it for `logs.finish` to write."""
    if defer is not None:
        defer.append(step)
        return step
    try:
        with transaction.atomic():
            fastsql.insert(step)
    except IntegrityError:  # another delivery wrote it first: follow that one
        return RunStep.objects.get(run=run, node=step.node)
    return step


def _run_action(run: WorkflowRun, node: dict, customer, state: evaluate.State, now, defer) -> RunStep:
    detail: dict = {}
    if customer is None:
        step = _new_step(run, node, now, output="failure", error="There is no customer.")
        return _save_step(run, step, defer)
    ctx = ActionContext(
        run=run, node=node, config=node["config"], customer=customer, state=state, detail=detail
    )
    # A savepoint of its own unless the walk is one transaction and the action's one write is its
    # event (SINGLE_REGISTER: the engine's savepoint already undoes a refused event).
    own_savepoint = defer is None or node["type"] not in SINGLE_REGISTER
    try:
        with transaction.atomic() if own_savepoint else nullcontext():
            event: Event | None = ACTIONS[node["type"]](ctx)
            # The step commits with the events (the effect's key); a duplicate rolls them back.
            step = _new_step(run, node, now, output="success", detail=detail, event=event)
            if defer is None:
                fastsql.insert(step)
        if defer is not None:  # written by logs.finish in this same transaction
            defer.append(step)
        return step
    except IntegrityError as error:
        existing = RunStep.objects.filter(run=run, node=node["id"]).first()
        if existing is not None:  # another delivery applied it: exactly once
            return existing
        message, code = f"Database refused the action: {type(error).__name__}", None
    except (EngineError, expressions.ExpressionError) as error:
        message, code = error.message, getattr(error, "code", None)
    except Exception as error:  # noqa: BLE001 (a failing node fails its run, never the queue)
        log.exception("workflow node failed", extra={"run": run.pk, "node": node["id"]})
        message, code = f"Internal error: {type(error).__name__}", None
    detail.update({"code": code} if code else {})
    return _save_step(run, _new_step(run, node, now, output="failure", detail=detail, error=message), defer)


def cancel(run: WorkflowRun) -> bool:
    """Cancel a waiting run (the Running workflows list); False when it is not waiting."""
    changed = WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.WAITING).update(
        status=RunStatus.CANCELLED, resume_at=None, finished_at=clock.now(run.environment)
    )
    return bool(changed)
