"""Workflows, campaigns, versions, runs and run steps (docs/workflows.md).

- `Campaign`: time-boxed (starts_at / ends_at), holds several workflows; caps on the bonus points
  of the whole campaign and per customer (`CampaignParticipant`), with a limit behaviour. Its row is
  the counter the campaign bonus locks (select_for_update), so caps hold under concurrency.
- `Workflow`: a general workflow (no campaign; runs until inactivated) or one of a campaign's.
  `version` is the current `WorkflowVersion`; every save of the graph makes a new one.
- `WorkflowVersion`: the graph as JSON (workflows.graph), immutable once stored. A run keeps the
  version it started with, so a run parked on a wait finishes on it.
- `WorkflowRun`: one firing of a trigger for one customer; `RunStep`: one node passed. A step is
  unique per (run, node): the step of an action is written in the same transaction as the event it
  registers, which is what makes a redelivered task apply nothing twice.
- `DateOccurrence`: the progress of one occurrence of an On a date / Historical trigger over the
  customers (a keyset cursor), so a big run is chunked and resumable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from loyalty import configcache
from loyalty.choices import Environment

from .choices import LimitBehavior, RunStatus, TriggerType, WorkflowStatus


class Campaign(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    max_bonus_points = models.BigIntegerField(
        null=True, blank=True, help_text="cap on bonus points over the whole campaign; empty: unlimited"
    )
    max_customer_points = models.BigIntegerField(
        null=True, blank=True, help_text="cap on bonus points per customer; empty: unlimited"
    )
    limit_behavior = models.CharField(
        max_length=10, choices=LimitBehavior.choices, default=LimitBehavior.DYNAMIC
    )
    # Counters, changed only under this row's lock (workflows.campaigns.grant_bonus).
    distributed_points = models.BigIntegerField(default=0)
    participants = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def cap_share(self) -> float | None:
        """Share of the campaign cap already paid (0..1), or None without a cap."""
        if not self.max_bonus_points:
            return None
        return min(1.0, self.distributed_points / self.max_bonus_points)


class CampaignParticipant(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="one_participant_row")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id}"


class Workflow(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="workflows"
    )
    status = models.CharField(max_length=10, choices=WorkflowStatus.choices, default=WorkflowStatus.INACTIVE)
    priority = models.IntegerField(default=100, help_text="lower runs first among workflows on one trigger")
    # Denormalized from the current version's trigger node, for the active-workflow lookup.
    trigger_type = models.CharField(max_length=12, choices=TriggerType.choices, default=TriggerType.EVENT)
    trigger_action = models.CharField(max_length=64, blank=True)
    version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True, help_text="date triggers count from here")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["environment", "status", "trigger_type"], name="workflow_active")]

    def __str__(self) -> str:
        return self.name

    # The engine keeps the active workflows in process memory (workflows.triggers).
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    @property
    def is_active(self) -> bool:
        return self.status == WorkflowStatus.ACTIVE


class WorkflowVersion(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["workflow", "number"], name="one_version_number")]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A workflow version is immutable; save the workflow to make a new one.")
        super().save(*args, **kwargs)


class WorkflowRun(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The trigger: an event (Event trigger) or an occurrence key (dates, history, segments).
    trigger_event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    occurrence = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=200, blank=True, help_text="what fired it, for the logs")
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING)
    depth = models.PositiveSmallIntegerField(default=0, help_text="workflow-made events above this run")
    vars = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    resume_at = models.DateTimeField(null=True, blank=True, help_text="when the earliest wait ends")

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One run per workflow and triggering event / occurrence: a redelivered task finds it.
            models.UniqueConstraint(
                fields=["workflow", "trigger_event"],
                condition=Q(trigger_event__isnull=False),
                name="one_run_per_event",
            ),
            models.UniqueConstraint(
                fields=["workflow", "customer", "occurrence"],
                condition=~Q(occurrence=""),
                name="one_run_per_occurrence",
            ),
        ]
        indexes = [
            models.Index(fields=["workflow", "-id"], name="run_by_workflow"),
            models.Index(fields=["customer", "-id"], name="run_by_customer"),
            models.Index(
                fields=["trigger_event"], condition=Q(trigger_event__isnull=False), name="run_by_event"
            ),
            models.Index(fields=["resume_at"], condition=Q(status="waiting"), name="run_waiting"),
            models.Index(fields=["started_at"], name="run_started"),
        ]

    def __str__(self) -> str:
        return f"run #{self.pk}"


class RunStep(models.Model):
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    node = models.CharField(max_length=64)
    node_type = models.CharField(max_length=40)
    branch = models.CharField(max_length=10, default="action", help_text="modifier or action")
    output = models.CharField(max_length=40, blank=True, help_text="the output taken; empty: stopped")
    detail = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "node"], name="one_step_per_node")]
        indexes = [models.Index(fields=["event"], condition=Q(event__isnull=False), name="step_by_event")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.node}"

    @property
    def idempotency_key(self) -> str:
        """The key of the effect: run, version and node (docs/workflows.md, "Exactly once")."""
        return f"wf-run-{self.run_id}-v{self.run.version_id}-{self.node}"


class DateOccurrence(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="occurrences")
    key = models.CharField(max_length=64, help_text="the occurrence, e.g. 2026-11-29T07:00")
    due_at = models.DateTimeField()
    cursor = models.BigIntegerField(default=0, help_text="last customer pk visited")
    done = models.BooleanField(default=False)
    visited = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "key"], name="one_occurrence")]

    def __str__(self) -> str:
        return self.key


class PendingTrigger(models.Model):
    """The outbox of the Event triggers' action branches: one row per registered event (with its
    follow-ups) that active workflows trigger on, written in the event's own transaction
    (workflows.triggers.outbox_statement / after_store), so the action branch commits or rolls
    back with the event.
    A drain task (workflows.tasks.drain_outbox) walks many rows and deletes each done one; the
    minute tick drains those a lost task left (docs/workflows.md, "Post-commit actions").

    State (`state`): *pending* (never failed), *retrying* (failed `attempts` times, due again at
    `available_at`), *failed* (`failed_at` set after OUTBOX_MAX_ATTEMPTS failures: a dead letter,
    never taken by a drain until someone retries it; workflows.pending)."""

    environment = models.CharField(max_length=10, choices=Environment.choices)
    event_ids = models.JSONField(help_text="the triggering events: the event and its follow-ups")
    depth = models.PositiveSmallIntegerField(default=0, help_text="workflow levels below an outside event")
    origin = models.IntegerField(null=True, blank=True, help_text="the workflow that registered the event")
    main_event_id = models.BigIntegerField(null=True, blank=True)
    modifier_logs = models.JSONField(default=dict, blank=True, help_text="the modifier branches' runs")
    created_at = models.DateTimeField()
    # When a drain may take the row: its creation, the end of a drain's lease on it, or the end
    # of the pause after a failed attempt.
    available_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0, help_text="failed attempts")
    error = models.TextField(blank=True, help_text="the last failure: exception type and code location")
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="parked after OUTBOX_MAX_ATTEMPTS failures (dead letter)"
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["available_at"], condition=Q(failed_at__isnull=True), name="pending_trigger_due"
            ),
            models.Index(fields=["id"], condition=Q(failed_at__isnull=False), name="pending_trigger_failed"),
        ]

    def __str__(self) -> str:
        return f"pending trigger #{self.pk}"

    @property
    def state(self) -> str:
        """TriggerState: pending / retrying / failed."""
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.attempts else "pending"
