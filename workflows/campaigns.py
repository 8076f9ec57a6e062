"""Campaign caps (reference §1.1): the campaign bonus allowed now, under the campaign's row lock.

`reserve_bonus` locks the campaign row (SELECT ... FOR UPDATE) and the customer's participant
row, decides the points, and adds them to both counters; the caller registers the point event
in the same transaction. The lock is what keeps 64 simultaneous qualifying events from paying
past the cap: each reads the counters only after the previous one committed (or rolled back).
Caps: empty = unlimited, 0 = no bonus at all. Behaviours for the bonus that would cross a cap:
soft (paid in full while anything is left), dynamic (cut to what is left), hard (refused).

Inside `preview()` (the Points Preview, workflows.preview) the same decision is made without a
lock and without changing a counter: the caps as they stand, minus what this preview already
granted (two bonuses of one campaign in one checkout share its cap as they would for real).

`campaign_bonus` is the engine's handler of the internal `campaign_bonus` event (the Campaign
bonus node registers it): it reserves, then credits what the caps allow.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections import Counter

from django.db import transaction

from customers.models import Customer
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, EngineError, NotFound
from loyalty.ledger.operations import credit

from .choices import LimitBehavior
from .models import Campaign, CampaignParticipant


class CapReached(BusinessRuleError):
    code = 160430
    default_message = "The campaign's bonus cap is reached."


def _allowed(points: int, left: int | None, behavior: str) -> int:
    if left is None:
        return points
    if left <= 0:
        return 0
    if points <= left:
        return points
    if behavior == LimitBehavior.SOFT:
        return points
    if behavior == LimitBehavior.DYNAMIC:
        return left
    return 0  # hard


class PreviewTally:
    """Bonus points granted inside one preview: per campaign, and per (campaign, customer pk)."""

    def __init__(self) -> None:
        self.campaigns: Counter[int] = Counter()
        self.customers: Counter[tuple[int, int]] = Counter()


_preview: contextvars.ContextVar[PreviewTally | None] = contextvars.ContextVar(
    "campaign_bonus_preview", default=None
)


@contextlib.contextmanager
def preview():
    """Inside, `reserve_bonus` decides without locking or counting (see the module docstring)."""
    token = _preview.set(PreviewTally())
    try:
        yield
    finally:
        _preview.reset(token)


def save_settings(campaign: Campaign, fields) -> Campaign:
    """A campaign's settings from the console form: a new campaign whole, an existing one only its
    `fields`. The counters are reserve_bonus's, written under the row's lock: the edited copy,
    read before, saved whole put back what the bonuses paid meanwhile (and the caps paid it again)."""
    if campaign.pk is None:
        campaign.save()
    else:
        campaign.save(update_fields=list(fields))
    return campaign


def reserve_bonus(campaign_id: int, customer: Customer, points: int, now: dt.datetime) -> int:
    """Points to pay (> 0), counted on the campaign; CapReached / BusinessRuleError otherwise.
    Call inside transaction.atomic() with the event registration that pays them. Inside
    `preview()` nothing is locked or counted (the preview's tally is)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reserve_bonus must run inside the transaction that registers the bonus")
    tally = _preview.get()
    rows = Campaign.objects if tally is not None else Campaign.objects.select_for_update()
    campaign = rows.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist.", field="campaign")
    if not campaign.starts_at <= now <= campaign.ends_at:
        raise BusinessRuleError(f"The campaign {campaign.name!r} is not running.", field="campaign")
    if points <= 0:
        raise BusinessRuleError("A campaign bonus is a positive number of points.", field="points")
    if tally is not None:
        participant = CampaignParticipant.objects.filter(campaign=campaign, customer=customer).first()
        distributed = campaign.distributed_points + tally.campaigns[campaign.pk]
        received = (participant.points if participant else 0) + tally.customers[campaign.pk, customer.pk]
    else:
        participant, _created = CampaignParticipant.objects.select_for_update().get_or_create(
            campaign=campaign, customer=customer
        )
        distributed, received = campaign.distributed_points, participant.points
    total_left = None if campaign.max_bonus_points is None else campaign.max_bonus_points - distributed
    customer_left = None if campaign.max_customer_points is None else campaign.max_customer_points - received
    allowed = _allowed(points, total_left, campaign.limit_behavior)
    allowed = min(allowed, _allowed(allowed, customer_left, campaign.limit_behavior)) if allowed else 0
    if allowed <= 0:
        raise CapReached(f"The campaign {campaign.name!r} has reached its bonus cap.", field="points")
    if tally is not None:
        tally.campaigns[campaign.pk] += allowed
        tally.customers[campaign.pk, customer.pk] += allowed
        return allowed
    participant.points += allowed
    participant.save(update_fields=["points"])
    campaign.distributed_points += allowed
    if participant.points == allowed:  # the first bonus of this customer
        campaign.participants += 1
    campaign.save(update_fields=["distributed_points", "participants"])
    return allowed


def campaign_bonus(ctx: HandlerContext) -> None:
    """The `campaign_bonus` event: `data.points` asked for the campaign `data.campaign` (reference
    §1.5 "Campaign bonus", its internal event). The caps decide what is paid (`reserve_bonus`,
    under the campaign row's lock, in the event's transaction), credited like point_add: earned
    points of the event's account, expiring by the account rule, counted as tier points and as
    earning (the Aggregated customer attributes filter), taken back by point_sub. The event's
    `points` settle to what was paid (a dynamic limit may cut it; `data.points` keeps what was
    asked). Result: `result.extra["campaign_bonus"] = {"campaign", "asked", "paid"}`.

    Errors (nothing stored, the counters untouched): NotFound (`data.campaign`), BusinessRuleError
    (the campaign is not running), CapReached (160430), StatusForbids (the customer may not earn)."""
    campaign_id, asked = int(ctx.data["campaign"]), int(ctx.data["points"])
    try:
        paid = reserve_bonus(campaign_id, ctx.customer, asked, ctx.now)
    except EngineError as error:  # its fields named as the event's attributes
        if error.field in ("campaign", "points"):
            error.field = f"data.{error.field}"
        raise
    credit(ctx, paid)
    ctx.result.extra["campaign_bonus"] = {"campaign": campaign_id, "asked": asked, "paid": paid}
