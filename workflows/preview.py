"""Points Preview (the reference's `POST /extensions/automation/campaign-bonus`): the points a
checkout would earn — its base points and the bonus of every Campaign bonus node it would reach —
found by running it inside one transaction that is rolled back. Nothing is stored.

1. The checkout is registered as a real one (`register`, the caller's: its earning rules, and the
   modifier branch of every active workflow on checkout, so Modify event applies and Interrupt
   refuses the preview as it would refuse the checkout).
2. The action branch of every active workflow of a campaign running now, triggered by the
   checkout or one of its follow-up events (checkout items, tier changes), runs synchronously
   as `workflows.tasks.run_for_events` runs it on the queue: priority order, filters, variables,
   A/B tests and actions as they would run. General workflows do not run (they give no campaign
   bonus); a node after a Wait is not reached (the Wait has not ended at checkout); events a
   bonus registers trigger no further workflows here; a Random filter draws again.
3. Campaign bonus nodes decide their points under `workflows.campaigns.preview()`: the campaign
   cap and the customer cap as they stand, minus what this preview granted, with the campaign's
   limit behaviour; no row is locked and no counter changes.
4. Everything is rolled back: no event, transaction, run, step, participant row or counter stays,
   and on-commit work (webhooks, queued tasks) is dropped with it.

A Campaign bonus node that would fail (an expression error in its points, the cap reached, a
refusal of the engine) pays nothing and is reported in `errors` with its message; it never fails
the preview.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from loyalty import clock
from loyalty.context import EventResult
from loyalty.ledger.accounts import account_by_id
from loyalty.models import PointAccount, Program

from . import campaigns, tasks, triggers
from .choices import WorkflowStatus
from .models import CampaignParticipant, RunStep, Workflow


@dataclass(frozen=True)
class CampaignFacts:
    """A campaign as the preview saw it, before the previewed checkout."""

    id: int
    name: str
    issued_points: int  # bonus points the campaign has paid so far
    customer_points: int  # bonus points this customer has received from it so far


@dataclass(frozen=True)
class Bonus:
    workflow_id: int
    campaign: CampaignFacts
    points: int
    account: PointAccount


@dataclass(frozen=True)
class BonusError:
    workflow_id: int
    campaign: CampaignFacts
    code: int | None
    message: str


@dataclass
class PointsPreview:
    result: EventResult  # the checkout's (rolled back): transaction, points, account
    bonuses: list[Bonus] = field(default_factory=list)
    errors: list[BonusError] = field(default_factory=list)


class _Rollback(Exception):
    def __init__(self, preview: PointsPreview):
        self.preview = preview


def preview_checkout(environment: str, register: Callable[[], EventResult]) -> PointsPreview:
    """`register()` registers the checkout (no dry run: this function rolls back). Raises what
    `register` raises (EngineError: a refused checkout, WorkflowInterrupt: a modifier's Interrupt)."""
    try:
        with transaction.atomic():
            result = register()
            preview = PointsPreview(result=result)
            if Program.current().workflows:
                _run_campaigns(environment, result, preview)
            raise _Rollback(preview)
    except _Rollback as rollback:
        return rollback.preview
    except triggers.WorkflowInterrupt as interrupt:
        interrupt.logged = None  # its run was logged inside the rollback: a preview logs no run
        raise


def _run_campaigns(environment: str, result: EventResult, preview: PointsPreview) -> None:
    now = clock.now(environment)
    running = set(
        Workflow.objects.filter(
            environment=environment,
            status=WorkflowStatus.ACTIVE,
            campaign__starts_at__lte=now,
            campaign__ends_at__gte=now,
        ).values_list("pk", flat=True)
    )
    event_ids = [event.pk for event in result.events if event.customer_id is not None]
    if not running or not event_ids:
        return
    main = result.event.pk if result.event is not None else None
    with campaigns.preview():
        modifiers = result.extra.get("workflow_modifiers")
        tasks.run_for_events(environment, event_ids, 0, None, main, modifiers, only=running, dry_run=True)
    steps = list(
        RunStep.objects.filter(run__trigger_event_id__in=event_ids, node_type="campaign_bonus")
        .select_related("run__workflow__campaign", "event")
        .order_by("id")
    )
    received = dict(
        CampaignParticipant.objects.filter(
            customer=result.customer, campaign__in={step.run.workflow.campaign_id for step in steps}
        ).values_list("campaign_id", "points")
    )
    for step in steps:
        campaign = step.run.workflow.campaign
        facts = CampaignFacts(
            campaign.pk, campaign.name, campaign.distributed_points, received.get(campaign.pk, 0)
        )
        if step.output == "success" and step.event is not None:
            account = account_by_id(step.event.account_id) if step.event.account_id else result.event.account
            preview.bonuses.append(Bonus(step.run.workflow_id, facts, int(step.detail["points"]), account))
        elif step.error:
            code = step.detail.get("code")
            preview.errors.append(BonusError(step.run.workflow_id, facts, code, step.error))
