"""Workflow tasks on django-q2: the action branch after an event, and the minute tick.

- `drain_outbox` (queued on commit by workflows.outbox, coalesced: one per worker at most with
  Redis): walks the outbox rows of the Event triggers' action branches, a claimed batch at a
  time, each through `run_for_events`, deleting the rows done, until the outbox is empty or
  DRAIN_BUDGET_SECONDS; a row whose walk raises is kept for a later attempt, and parked as failed
  after OUTBOX_MAX_ATTEMPTS (workflows.outbox; retried or discarded by hand: workflows.pending).
- `run_for_events`: one run per active workflow and triggering event, walked by
  workflows.runner. Walked twice (a row drained again after a killed drain), it finds the runs
  and their steps and applies nothing again.
- `run_segment_changes` (queued after commit by workflows.membership when a build, an archiving
  or an import changed a segment's membership): the segment entered / left runs of that change,
  one per changed membership row and workflow, keyed ``seg-<member id>-<direction>``.
- `tick` (a django-q2 Schedule every minute; also safe to call by hand): drains the outbox rows
  older than OUTBOX_GRACE (default 120 s) that no drain took (a lost task, a killed worker whose
  lease ended: recovery only); then per environment, on its
  own clock (the sandbox's test clock): resume the waits that ended, run the due occurrence of
  every On a date trigger and the Historical events triggers, and sweep the segment changes older
  than SEGMENT_SWEEP_GRACE (default 600 s) for runs a lost task never made (recovery only). Big runs go in chunks of CHUNK customers with the cursor stored on the
  `DateOccurrence`, so a tick that stops (time budget, a killed worker) is resumed by the next,
  and the unique (workflow, customer, occurrence) run means no customer runs twice.
- `cleanup` (daily): runs older than WORKFLOW_LOG_RETENTION_DAYS (default 90) are deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from contextlib import nullcontext

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from customers.choices import CustomerStatus
from customers.models import Customer
from dataio import jobs
from dataio.choices import JobKind, JobStatus
from events.models import Event
from loyalty import clock, fastsql
from loyalty.bounds import is_digits
from loyalty.choices import Environment
from loyalty.models import Program
from segments import conditions as cond
from segments.models import SegmentMember

from . import logs, membership, outbox, runner, triggers
from .actions import ACTIONS
from .choices import FINISHED, RunStatus, TriggerType, WorkflowStatus
from .graph import Graph
from .models import DateOccurrence, Workflow, WorkflowRun, WorkflowVersion

log = logging.getLogger("loyalty.workflows")
CHUNK = 500
SWEEP_MOMENTS = 50  # change moments per workflow per tick in the recovery sweep
TICK_BUDGET_SECONDS = 50
DRAIN_BUDGET_SECONDS = 30


def drain_outbox(slot=None, *, older_than=None, budget=DRAIN_BUDGET_SECONDS) -> int:
    """Walk the outbox's due rows, a claimed batch at a time, until none is left or `budget`
    seconds passed (then a fresh drain takes over). `slot`: the drain slot this task holds
    (workflows.outbox), given back before the last look. `older_than`: only rows at least that
    old (the tick's recovery). Returns the number of runs walked."""
    started, walked = time.monotonic(), 0
    while time.monotonic() - started < budget:
        rows = outbox.claim(older_than=older_than)
        if not rows and slot is not None:
            # Give the slot back, then look once more: a row committed while this drain still
            # held the slot did not queue a drain of its own, and is seen here. The pause first
            # covers the commits that skipped their take after seeing the slot held
            # (outbox.schedule_drain).
            outbox.release(slot)
            outbox.wait_before_last_look()
            rows = outbox.claim(older_than=older_than)
            slot = slot if rows and outbox.hold(slot) else None
        if not rows:
            return walked
        walked += _drain(rows)
    outbox.release(slot)
    outbox.schedule_drain(force=True)
    return walked


def _drain(rows) -> int:
    walked, finished = 0, []
    # The claimed rows' events in one query (not one per row); the runs are walked row by row,
    # and a row whose IDs do not read fails alone, below.
    ids = sorted({int(pk) for row in rows for pk in row.event_ids if is_digits(pk)})
    loaded = {event.pk: event for event in _events(ids)} if ids else {}
    for row in rows:
        try:
            walked += run_for_events(
                row.environment,
                row.event_ids,
                row.depth,
                row.origin,
                row.main_event_id,
                row.modifier_logs,
                loaded=loaded,
            )
        except Exception as error:  # kept for a later attempt; the other rows go on
            parked = outbox.failed(row, error)
            # The stack without the exception's message (it may quote personal data).
            log.error(
                "outbox row %s %s: %s\n%s",
                row.pk,
                "parked as failed" if parked else "failed",
                outbox.describe(error),
                "".join(traceback.format_tb(error.__traceback__)),
                extra={"pending_trigger": row.pk},
            )
        else:
            finished.append(row.pk)
    outbox.done(finished)
    return walked


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
    loaded=None,
):
    """The action branch of every active workflow triggered by these events (and the runs of the
    modifier branches that ran for the main event); `only`: the workflow IDs to run (None: all);
    `dry_run`: the runs are not finished (workflows.preview rolls them back); `loaded`: events
    already read ({id: Event}, the drain's batch), the others are read here. Returns the number
    of runs walked.

    Per run: the run row (one INSERT), the customer, each node's step with its events (one
    transaction per action), the final status (one UPDATE). The workflow and its version come from
    process memory (the active-workflow table, reloaded when a workflow changes), not from the
    database."""
    modifier_logs = modifier_logs or {}
    table = triggers.active_event_workflows()
    walked = 0
    ids = [int(pk) for pk in event_ids]
    if not ids:
        return 0
    loaded = loaded or {}
    missing = [pk for pk in ids if pk not in loaded]
    events = [loaded[pk] for pk in ids if pk in loaded] + (_events(missing) if missing else [])
    for event in sorted(events, key=lambda row: row.pk):
        for active in table.get((environment, event.action), ()):
            if active.id in (origin, event.workflow_id) or event.customer_id is None:
                continue
            if only is not None and active.id not in only:
                continue
            modifier = modifier_logs.get(str(active.id)) if event.pk == main_event_id else None
            try:
                walked += _event_run(active, event, environment, depth, modifier, dry_run=dry_run)
            except (WorkflowRun.DoesNotExist, WorkflowVersion.DoesNotExist):
                continue  # the workflow was deleted since this process loaded it
    return walked


def _events(ids: list[int]) -> list[Event]:
    # Plain SQL (loyalty.fastsql): the ORM's compilation of this query cost more than the read.
    return fastsql.select(Event, f"id IN ({', '.join(['%s'] * len(ids))})", ids)


def _event_run(active, event, environment, depth, modifier, *, dry_run=False) -> int:
    """One event-triggered run. A version whose walk registers events in at most one node and
    never waits runs in one transaction (run row, steps, the action's events, the outcome: all or
    nothing, so a killed worker leaves nothing and the redelivery does it all once; one commit
    instead of three). Others commit node by node (workflows.runner)."""
    wanted = modifier["version"] if modifier else active.version_id
    if wanted == active.version_id:
        # The active version as loaded with the active-workflow table (versions are immutable).
        run_version = WorkflowVersion(pk=wanted, workflow_id=active.id, graph=active.graph.data)
    else:  # saved again between the modifier branch and now: the run keeps its own version
        run_version = WorkflowVersion.objects.get(pk=wanted)
    one_transaction = single_commit(run_version)
    with transaction.atomic() if one_transaction else nullcontext():
        run, created = logs.start_run(
            workflow=active.row(),
            version=run_version,
            customer=Customer(pk=event.customer_id),
            trigger=f"{event.action} #{event.pk}",
            now=clock.now(environment),
            event=event,
            depth=depth,
            variables=(modifier or {}).get("vars"),
            modifier_steps=(modifier or {}).get("steps"),
        )
        if not created and run.status != RunStatus.RUNNING:
            return 0  # a redelivery of a finished (or parked) run: nothing to do
        fresh = created and not (modifier or {}).get("steps")
        runner.execute(run, dry_run=dry_run, fresh=fresh, one_transaction=one_transaction)
    return 1


def single_commit(run_version: WorkflowVersion) -> bool:
    """Whether the version's walk (every node reachable from its trigger) has at most one node
    that registers events and no Wait: such a run can commit once, as a whole."""
    graph = Graph(run_version.graph)
    reachable: set[str] = set()
    queue = [graph.trigger["id"]] if graph.trigger else []
    while queue:
        node_id = queue.pop()
        for (source, _output), targets in graph.out.items():
            if source == node_id:
                queue.extend(t for t in targets if t not in reachable)
                reachable.update(targets)
    kinds = [graph.nodes[node_id]["type"] for node_id in reachable if node_id in graph.nodes]
    return sum(kind in ACTIONS for kind in kinds) <= 1 and "wait" not in kinds


def tick(environments=None) -> dict:
    """Everything time-driven, per environment on its own clock. Returns counts (for the logs)."""
    started = time.monotonic()
    done = {"outbox": drain_outbox(older_than=outbox_grace(), budget=TICK_BUDGET_SECONDS / 2)}
    done.update(resumed=0, date_runs=0)
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


def outbox_grace() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "OUTBOX_GRACE", 120)))


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
    runner.execute(run, fresh=created)
    return 1


def _segment_changes(workflow, config, now) -> int:
    """The recovery sweep of a segment trigger (the changes themselves queue
    `run_segment_changes` after their commit: workflows.membership): the changes stamped between
    the stored cursor and SEGMENT_SWEEP_GRACE ago, moment by moment, walking only those without a
    run (a task lost between a commit and its queueing, a worker that died). The cursor starts
    when the sweep first sees the workflow's version, as its trigger did."""
    occurrence, _ = DateOccurrence.objects.get_or_create(
        workflow=workflow, key=f"segment-v{workflow.version_id}", defaults={"due_at": now}
    )
    direction = config["direction"]
    column = "entered_at" if direction == "entered" else "left_at"
    until = now - sweep_grace()
    if until <= occurrence.due_at:
        return 0
    moments = (
        SegmentMember.objects.filter(
            Q(**{f"{column}__gt": occurrence.due_at, f"{column}__lte": until}), segment_id=config["segment"]
        )
        .order_by(column)
        .values_list(column, flat=True)
        .distinct()
    )
    walked, found = 0, list(moments[:SWEEP_MOMENTS])
    for moment in found:
        walked += _segment_runs(workflow, direction, int(config["segment"]), moment)
        occurrence.due_at = moment
    if len(found) < SWEEP_MOMENTS:
        occurrence.due_at = until
    occurrence.save(update_fields=["due_at"])
    return walked


def sweep_grace() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "SEGMENT_SWEEP_GRACE", 600)))


def run_segment_changes(segment_pk, at, directions=("entered", "left")) -> int:
    """The runs of every active segment workflow on `segment_pk` for the memberships changed at
    `at` (ISO datetime: entered_at / left_at of the changed rows), queued after commit by
    workflows.membership.changed. Returns the number of runs walked; a redelivery walks none."""
    moment = parse_datetime(at) if isinstance(at, str) else at
    if moment is None or not Program.current().workflows:
        return 0
    walked = 0
    for workflow, segment, direction in membership.segment_workflows():
        if segment != int(segment_pk) or direction not in directions:
            continue
        try:
            walked += _segment_runs(workflow, direction, segment, moment)
        except Exception:  # one broken workflow never stops the others
            log.exception("segment workflow failed", extra={"workflow": workflow.pk})
    return walked


def _segment_runs(workflow, direction: str, segment_pk: int, moment) -> int:
    """Walk the runs of the memberships of `segment_pk` that changed (`direction`) at `moment`,
    CHUNK rows at a time by id, skipping those that have their run already (one query per chunk).
    Customers since anonymized or opted out are not visited (the On a date triggers' rule)."""
    column = "entered_at" if direction == "entered" else "left_at"
    changes = (
        SegmentMember.objects.filter(segment_id=segment_pk, **{column: moment})
        .filter(customer__anonymized_at__isnull=True)
        .exclude(customer__status=CustomerStatus.OPTED_OUT)
        .select_related("customer")
        .order_by("pk")
    )
    label = f"Segment {direction}"
    walked, cursor = 0, 0
    while True:
        batch = list(changes.filter(pk__gt=cursor)[:CHUNK])
        if not batch:
            return walked
        cursor = batch[-1].pk
        keys = {member.pk: f"seg-{member.pk}-{direction}" for member in batch}
        done = set(
            WorkflowRun.objects.filter(
                workflow=workflow,
                customer_id__in=[member.customer_id for member in batch],
                occurrence__in=keys.values(),
            ).values_list("occurrence", flat=True)
        )
        for member in batch:
            if keys[member.pk] not in done:
                walked += _run_for(workflow, member.customer, keys[member.pk], label)


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
