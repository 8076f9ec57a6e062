"""Workflow tasks on django-q2: the action branch after an event, and the minute tick.

- `run_for_events` (queued on commit by workflows.triggers): one run per active workflow and
  triggering event, walked by workflows.runner. Delivered twice, it finds the runs and their
  steps and applies nothing again.
- `tick` (a django-q2 Schedule every minute; also safe to call by hand): per environment, on its
  own clock (the sandbox's test clock): resume the waits that ended, run the due occurrence of
  every On a date trigger, the Historical events triggers and the segment entered / left
  triggers. Big runs go in chunks of CHUNK customers with the cursor stored on the
  `DateOccurrence`, so a tick that stops (time budget, a killed worker) is resumed by the next,
  and the unique (workflow, customer, occurrence) run means no customer runs twice.
- `cleanup` (daily): runs older than WORKFLOW_LOG_RETENTION_DAYS (default 90) are deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from customers.choices import CustomerStatus
from customers.models import Customer
from dataio import jobs
from dataio.choices import JobKind, JobStatus
from events.models import Event
from loyalty import clock
from loyalty.choices import Environment
from loyalty.models import Program
from segments import conditions as cond
from segments.models import SegmentMember

from . import logs, runner, triggers
from .choices import FINISHED, RunStatus, TriggerType, WorkflowStatus
from .graph import Graph
from .models import DateOccurrence, Workflow, WorkflowRun, WorkflowVersion

log = logging.getLogger("loyalty.workflows")
CHUNK = 500
TICK_BUDGET_SECONDS = 50


def run_for_events(
    environment,
    event_ids,
    depth=0,
    origin=None,
    main_event_id=None,
    modifier_logs=None,
    *,
    only=None,
    dry_run=False,
):
    """The action branch of every active workflow triggered by these events (and the runs of the
    modifier branches that ran for the main event); `only`: the workflow IDs to run (None: all);
    `dry_run`: the runs are not finished (workflows.preview rolls them back). Returns the number
    of runs walked."""
    modifier_logs = modifier_logs or {}
    table = triggers.active_event_workflows()
    walked = 0
    for event in Event.objects.filter(pk__in=event_ids).order_by("id"):
        for active in table.get((environment, event.action), ()):
            if active.id in (origin, event.workflow_id) or event.customer_id is None:
                continue
            if only is not None and active.id not in only:
                continue
            modifier = modifier_logs.get(str(active.id)) if event.pk == main_event_id else None
            workflow = Workflow.objects.filter(pk=active.id).first()
            if workflow is None:
                continue
            version = WorkflowVersion.objects.get(pk=modifier["version"] if modifier else active.version_id)
            run, created = logs.start_run(
                workflow=workflow,
                version=version,
                customer=Customer(pk=event.customer_id),
                trigger=f"{event.action} #{event.pk}",
                now=clock.now(environment),
                event=event,
                depth=depth,
                variables=(modifier or {}).get("vars"),
                modifier_steps=(modifier or {}).get("steps"),
            )
            if not created and run.status != RunStatus.RUNNING:
                continue  # a redelivery of a finished (or parked) run: nothing to do
            runner.execute(run, dry_run=dry_run)
            walked += 1
    return walked


def tick(environments=None) -> dict:
    """Everything time-driven, per environment on its own clock. Returns counts (for the logs)."""
    started = time.monotonic()
    done = {"resumed": 0, "date_runs": 0}
    if not Program.current().workflows:
        return done
    for environment in environments or Environment.values:
        done["resumed"] += resume_waiting(environment)
        for workflow in Workflow.objects.filter(
            environment=environment, status=WorkflowStatus.ACTIVE, version__isnull=False
        ).exclude(trigger_type=TriggerType.EVENT):
            if time.monotonic() - started > TICK_BUDGET_SECONDS:
                return done  # the next tick resumes from the stored cursors
            try:
                done["date_runs"] += run_scheduled(workflow, started)
            except Exception:  # one broken workflow never stops the others
                log.exception("scheduled workflow failed", extra={"workflow": workflow.pk})
    return done


def resume_waiting(environment: str, limit: int = 500) -> int:
    now = clock.now(environment)
    resumed = 0
    due = WorkflowRun.objects.filter(environment=environment, status=RunStatus.WAITING, resume_at__lte=now)
    for run in due.order_by("resume_at")[:limit]:
        # Claim it: only one worker moves it from waiting to running.
        if WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.WAITING).update(status=RunStatus.RUNNING):
            run.status = RunStatus.RUNNING
            runner.execute(run)
            resumed += 1
    return resumed


# --- On a date, Historical events, Segment entered / left -------------------------------------------


def due_occurrence(config: dict, now: dt.datetime, zone) -> dt.datetime | None:
    """The latest scheduled moment at or before `now` (aware), in the program's time zone."""
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in config["time"].split(":"))

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)

    repeat, today = config["repeat"], local.date()
    if repeat == "once":
        moment = at(dt.date.fromisoformat(config["date"]))
        return moment if moment <= local else None
    if repeat == "daily":
        candidates = [at(today), at(today - dt.timedelta(days=1))]
    elif repeat == "weekly":
        back = (today.weekday() - int(config.get("weekday", 0))) % 7
        candidates = [at(today - dt.timedelta(days=back)), at(today - dt.timedelta(days=back + 7))]
    elif repeat == "monthly":
        candidates = [at(_clamped(today.year, today.month, int(config.get("day", 1))))]
        previous = today.replace(day=1) - dt.timedelta(days=1)
        candidates.append(at(_clamped(previous.year, previous.month, int(config.get("day", 1)))))
    else:  # yearly
        anchor = dt.date.fromisoformat(config["date"]) if config.get("date") else dt.date(2000, 1, 1)
        candidates = [
            at(_clamped(today.year, anchor.month, anchor.day)),
            at(_clamped(today.year - 1, anchor.month, anchor.day)),
        ]
    return next((moment for moment in candidates if moment <= local), None)


def _clamped(year: int, month: int, day: int) -> dt.date:
    for candidate in range(day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day, 28))


def run_scheduled(workflow: Workflow, started: float) -> int:
    graph = Graph(workflow.version.graph)
    trigger = graph.trigger
    if trigger is None:
        return 0
    now = clock.now(workflow.environment)
    config = trigger["config"]
    if trigger["type"] == "date_trigger":
        due = due_occurrence(config, now, clock.zone())
        if due is None or (workflow.activated_at and due < workflow.activated_at - dt.timedelta(minutes=1)):
            return 0
        key = due.strftime("%Y-%m-%dT%H:%M")
        customers = Customer.objects.filter(
            environment=workflow.environment, anonymized_at__isnull=True
        ).exclude(status=CustomerStatus.OPTED_OUT)
        if config.get("prefilter"):
            customers = customers.filter(cond.compile_tree(config["prefilter"], ctx=cond.make_context(now)))
        return _chunks(workflow, key, due, customers, f"On a date {key}", started)
    if trigger["type"] == "historical_trigger":
        key = f"history-v{workflow.version_id}"
        zone = clock.zone()
        start = dt.datetime.combine(dt.date.fromisoformat(config["start"]), dt.time(), tzinfo=zone)
        end = dt.datetime.combine(dt.date.fromisoformat(config["end"]), dt.time(23, 59, 59), tzinfo=zone)
        with_events = Event.objects.filter(
            environment=workflow.environment, action=config["action"], effective_at__range=(start, end)
        ).values("customer_id")
        customers = Customer.objects.filter(pk__in=with_events, anonymized_at__isnull=True)
        return _chunks(workflow, key, now, customers, f"Historical {config['action']}", started)
    if trigger["type"] == "segment_trigger":
        return _segment_changes(workflow, config, now)
    return 0


def _chunks(workflow, key, due, customers, label, started) -> int:
    """Walk the occurrence's customers from its cursor, a chunk per transaction, within the
    tick's budget. The occurrence is one job on the Jobs page (`workflow:<id>:<key>`, done =
    customers visited; no total: counting millions of customers first is not worth it), across
    the ticks it takes."""
    occurrence, _ = DateOccurrence.objects.get_or_create(workflow=workflow, key=key, defaults={"due_at": due})
    if occurrence.done:
        return 0
    job_key = f"workflow:{workflow.pk}:{key}"
    jobs.track(
        JobKind.WORKFLOW_DATE,
        job_key,
        label=f"Workflow {workflow.name}: {label}",
        status=JobStatus.PROCESSING,
        environment=workflow.environment,
        done=occurrence.visited,
        url=f"/workflows/{workflow.pk}/",
    )
    walked = 0
    try:
        while time.monotonic() - started <= TICK_BUDGET_SECONDS:
            batch = list(customers.filter(pk__gt=occurrence.cursor).order_by("pk")[:CHUNK])
            for customer in batch:
                walked += _run_for(workflow, customer, key, label)
            with transaction.atomic():
                occurrence.cursor = batch[-1].pk if batch else occurrence.cursor
                occurrence.visited += len(batch)
                occurrence.done = len(batch) < CHUNK
                occurrence.save(update_fields=["cursor", "visited", "done"])
                jobs.track(
                    JobKind.WORKFLOW_DATE,
                    job_key,
                    done=occurrence.visited,
                    **({"status": JobStatus.FINISHED} if occurrence.done else {}),
                )
            if occurrence.done:
                break
    except Exception as error:
        jobs.track(JobKind.WORKFLOW_DATE, job_key, status=JobStatus.FAILED, message=type(error).__name__)
        raise
    return walked


def _run_for(workflow, customer, key, label) -> int:
    run, created = logs.start_run(
        workflow=workflow,
        version=workflow.version,
        customer=customer,
        trigger=label,
        now=clock.now(workflow.environment),
        occurrence=key,
    )
    if not created and run.status != RunStatus.RUNNING:
        return 0
    runner.execute(run)
    return 1


def _segment_changes(workflow, config, now) -> int:
    occurrence, created = DateOccurrence.objects.get_or_create(
        workflow=workflow, key=f"segment-v{workflow.version_id}", defaults={"due_at": now}
    )
    since = occurrence.due_at
    column = "entered_at" if config["direction"] == "entered" else "left_at"
    changes = SegmentMember.objects.filter(
        Q(**{f"{column}__gt": since, f"{column}__lte": now}), segment_id=config["segment"]
    ).select_related("customer")
    walked = 0
    for member in changes.order_by(column, "pk")[:CHUNK]:
        walked += _run_for(
            workflow,
            member.customer,
            f"seg-{member.pk}-{config['direction']}",
            f"Segment {config['direction']}",
        )
        occurrence.due_at = getattr(member, column)
    if walked < CHUNK:
        occurrence.due_at = now
    occurrence.save(update_fields=["due_at"])
    return walked


def cleanup() -> int:
    days = int(getattr(settings, "WORKFLOW_LOG_RETENTION_DAYS", 90))
    cutoff = clock.now() - dt.timedelta(days=days)
    old = WorkflowRun.objects.filter(started_at__lt=cutoff, status__in=FINISHED).values_list("pk", flat=True)
    deleted = 0
    while True:
        batch = list(old[:1000])
        if not batch:
            return deleted
        WorkflowRun.objects.filter(pk__in=batch).delete()
        deleted += len(batch)
