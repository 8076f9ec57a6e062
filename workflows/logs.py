"""Writing runs and their steps (the Log tab, the customer's Workflow logs, the run page).

A run's status at the end (`finish`): error when any node failed, success when an action
registered an event, "no action taken" otherwise (reference §1.10 keeps it apart from success),
waiting while a Wait holds it. Steps are unique per (run, node).
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext

from django.db import transaction

from customers.models import Customer
from events.models import Event
from loyalty import clock, fastsql

from .choices import RunStatus
from .models import RunStep, Workflow, WorkflowRun, WorkflowVersion


def run_exists(pk: int) -> bool:
    return WorkflowRun.objects.filter(pk=pk).exists()


def store_interrupted_run(run: dict) -> int | None:
    """The interrupted run's row (its pk), logged after the event's transaction rolled back."""
    workflow = Workflow.objects.filter(pk=run["workflow"]).first()
    if workflow is None:
        return None
    customer = Customer.objects.filter(pk=run["customer"]).first()
    now = dt.datetime.fromisoformat(run["now"])
    with transaction.atomic():
        row = WorkflowRun.objects.create(
            environment=workflow.environment,
            workflow=workflow,
            version_id=run["version"],
            customer=customer,
            trigger=f"{run['action']} (interrupted, not stored)",
            status=RunStatus.INTERRUPTED,
            vars=run.get("vars") or {},
            started_at=now,
            finished_at=now,
            duration_ms=0,
        )
        add_steps(row, run["steps"], branch="modifier", now=now)
    return row.pk


def add_steps(run: WorkflowRun, steps: list[dict], *, branch: str, now: dt.datetime) -> None:
    RunStep.objects.bulk_create(
        [
            RunStep(
                run=run,
                node=step["node"],
                node_type=step["type"],
                branch=branch,
                output=step["output"],
                detail=step.get("detail") or {},
                error=step.get("error") or "",
                at=now,
            )
            for step in steps
        ],
        ignore_conflicts=True,
    )


def start_run(
    *,
    workflow: Workflow,
    version: WorkflowVersion,
    customer: Customer | None,
    trigger: str,
    now: dt.datetime,
    event: Event | None = None,
    occurrence: str = "",
    depth: int = 0,
    variables: dict | None = None,
    modifier_steps: list[dict] | None = None,
) -> tuple[WorkflowRun, bool]:
    """The run of this trigger, created once: (run, created). A redelivered task gets the same row."""
    lookup = (
        {"trigger_event": event} if event is not None else {"customer": customer, "occurrence": occurrence}
    )
    fields = {"customer": customer} if event is not None else {}
    run = WorkflowRun(
        environment=workflow.environment,
        workflow=workflow,
        version=version,
        trigger=trigger[:200],
        depth=depth,
        vars=variables or {},
        started_at=now,
        **fields,
        **lookup,
    )
    # Plain SQL (loyalty.fastsql), one statement per run on the queue's hot path: a conflict with
    # the unique run of this event / occurrence (a redelivery) inserts nothing and needs no
    # savepoint; the modifier branch's steps commit with the run.
    with transaction.atomic() if modifier_steps else nullcontext():
        if fastsql.insert_unless_conflict(run):
            if modifier_steps:
                add_steps(run, modifier_steps, branch="modifier", now=now)
            return run, True
    return WorkflowRun.objects.get(workflow=workflow, **lookup), False


def finish(
    run: WorkflowRun,
    *,
    parked: list[dt.datetime],
    steps: list[RunStep] | None = None,
    unsaved: list[RunStep] | None = None,
) -> None:
    """Store the run's outcome; `steps`: every step of the run when the caller has them (else
    they are read); `unsaved`: steps not written yet (workflows.runner's one-transaction walk),
    inserted with the run's UPDATE (on PostgreSQL in one round trip: fastsql.returning_together)."""
    now = clock.now(run.environment)
    if parked:
        run.status, run.resume_at = RunStatus.WAITING, min(parked)
    else:
        steps = list(run.steps.all()) if steps is None else steps
        if any(step.error for step in steps):
            run.status = RunStatus.ERROR
            run.error = next(step.error for step in steps if step.error)[:2000]
        elif any(step.event_id for step in steps):
            run.status = RunStatus.SUCCESS
        else:
            run.status = RunStatus.NO_ACTION
        run.resume_at = None
        run.finished_at = now
    run.duration_ms = max(0, int((now - run.started_at).total_seconds() * 1000))
    names = ["status", "resume_at", "finished_at", "duration_ms", "error", "vars"]
    if not unsaved:
        fastsql.update(run, names)
        return
    update = fastsql.update_statement(run, names)
    rows = fastsql.returning_together(
        [fastsql.insert_statement(step) for step in unsaved], [update] if update else []
    )
    for step, row in zip(unsaved, rows, strict=True):
        step.pk, step._state.adding = row[0], False
