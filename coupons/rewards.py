"""The rewards catalog: who may claim what, and the `reward` event that claims it.

Claiming spends the points, takes one from the stock, and hands out what the reward gives (a
coupon from its pool, points, or only the record), all in the event's transaction. Lock order:
the customer (engine), then the reward row, then the coupon row. The reward row lock serializes
claims of one reward, so its stock never oversells; the customer lock serializes one customer's
claims, so they never spend more than they have.
"""

from __future__ import annotations

import datetime as dt

from loyalty.bounds import is_digits
from loyalty.context import HandlerContext
from loyalty.errors import (
    BusinessRuleError,
    Conflict,
    MissingParameter,
    NotFound,
    NotInSegment,
    StatusForbids,
)
from segments.building import is_member
from transactions import points

from . import auctions, coupons
from .choices import CouponStatus, RewardGives
from .eligibility import (  # noqa: F401 (NOT_ACTIVE: read as rewards.NOT_ACTIVE)
    BLOCKED,
    MAY_NOT_SPEND,
    NOT_ACTIVE,
    OUT_OF_STOCK,
    _tier_ids,
    availability,
)
from .models import Reward, RewardClaim


def claimable(customer, now: dt.datetime) -> list[Reward]:
    """Rewards this customer may claim now (whether or not they can afford them yet)."""
    tier_ids = _tier_ids(customer, now)
    counts: dict[int, int] = {}
    for reward_id in RewardClaim.objects.filter(customer=customer).values_list("reward_id", flat=True):
        counts[reward_id] = counts.get(reward_id, 0) + 1
    rewards = (
        Reward.objects.filter(active=True)
        .select_related("account", "pool")
        .prefetch_related("eligible_tiers")
    )
    return [
        reward
        for reward in rewards
        if availability(reward, customer, now, claims=counts.get(reward.pk, 0), tier_ids=tier_ids)[0]
    ]


def _reward_id(ctx: HandlerContext) -> int:
    ref = ctx.data.get("reward")
    if ref in (None, ""):
        raise MissingParameter("Missing required attribute 'reward'.", field="data.reward")
    if not is_digits(ref):
        raise NotFound(f"Reward {ref!r} does not exist.", field="data.reward")
    return int(ref)


def reward(ctx: HandlerContext) -> None:
    """The `reward` event: claim data.reward for the (locked) customer."""
    customer = ctx.customer
    if customer.status in BLOCKED:
        raise StatusForbids(
            f"A {customer.get_status_display().lower()} customer cannot claim rewards.",
            field="customer",
            code=MAY_NOT_SPEND,
        )
    reward_id = _reward_id(ctx)
    # A bidding reward is claimed only by its auction's winner (coupons.auctions), whose caller
    # already holds the reward lock: checked before locking, so a claim never waits on an
    # auction's lock while holding a customer a bid may need (the lock order is reward first).
    bidding = Reward.objects.filter(pk=reward_id, bidding=True).values_list("name", flat=True).first()
    if bidding is not None and ctx.source != "system":
        raise BusinessRuleError(
            f"Reward {bidding!r} is a bidding reward: bid for it (POST .../bid); the highest bid wins.",
            field="data.reward",
            code=auctions.BIDDING_ONLY,
        )
    item = Reward.objects.select_for_update(of=("self",)).filter(pk=reward_id).first()
    if item is None:
        raise NotFound(f"Reward {ctx.data.get('reward')!r} does not exist.", field="data.reward")
    if item.bidding:
        if item.stock is not None and item.claimed_count >= item.stock:
            raise BusinessRuleError(
                f"Reward {item.name!r} is out of stock.", field="data.reward", code=OUT_OF_STOCK
            )
        _give(ctx, item, auctions.claim_won(ctx, item))
        return
    if item.segment_id is not None and not is_member(customer.pk, item.segment_id):
        raise NotInSegment(
            f"Reward {item.name!r} is only for customers in a segment this customer is not in.",
            field="data.reward",
        )
    ok, why = availability(item, customer, ctx.now)
    if not ok:
        raise BusinessRuleError(why, field="data.reward", code=why.code)
    points.burn(ctx, item.points, item.account)
    _give(ctx, item, item.points)


def _give(ctx: HandlerContext, item: Reward, spent: int) -> None:
    """Hand out what the claimed reward gives, count the claim and record it (`spent` points)."""
    customer = ctx.customer
    coupon = None
    if item.gives == RewardGives.COUPON:
        if item.pool_id is None:
            raise BusinessRuleError(f"Reward {item.name!r} has no coupon pool.", field="data.reward")
        event = ctx.emit("coupon_assign", data={"pool": item.pool_id, "reward": item.pk}, parent=ctx.event)
        pool = item.pool
        assert pool is not None  # pool_id was checked above
        coupon = coupons.assign_from_pool(ctx.follow_up(event), pool)
    elif item.gives == RewardGives.POINTS and item.points_given:
        points.earn(ctx, item.points_given, item.account)
    item.claimed_count += 1
    item.save(update_fields=["claimed_count"])
    claim = RewardClaim.objects.create(
        reward=item, customer=customer, event=ctx.event, coupon=coupon, points=spent, created_at=ctx.now
    )
    ctx.result.extra["reward_claim"] = claim
    if coupon is not None:
        ctx.result.extra["coupon"] = coupon


CLAIM_EVENT_NOT_FOUND = 160340  # reference §8.2: "Event not found"
CLAIM_ALREADY_REVOKED = 160344  # reference §8.2: "Claim event already revoked"


def reward_revoke(ctx: HandlerContext) -> None:
    """The `reward_revoke` event (Display API `POST .../rewards/{reward}/revoke`, body `event`):
    undo one claim of this customer. The spent points come back as a new lot, an unused coupon it
    handed out is invalidated, the reward's stock is freed. A redeemed coupon stays redeemed (the
    customer used it) and is reported in the result's notes. Errors: 160340 no such claim event of
    this customer (`data.event`), 160344 already revoked; `data.reward`, when given, must match."""
    event_id = ctx.data.get("event")
    claim = (
        RewardClaim.objects.select_for_update(of=("self",))
        .select_related("reward", "coupon")
        .filter(customer=ctx.customer, event_id=event_id)
        .first()
    )
    if claim is None or (
        ctx.data.get("reward") not in (None, "") and str(claim.reward_id) != str(ctx.data["reward"])
    ):
        raise NotFound(f"Claim event {event_id!r} not found.", field="data.event", code=CLAIM_EVENT_NOT_FOUND)
    if claim.revoked_at is not None:
        raise Conflict(
            f"Claim event {event_id!r} is already revoked.", field="data.event", code=CLAIM_ALREADY_REVOKED
        )
    item = Reward.objects.select_for_update(of=("self",)).get(pk=claim.reward_id)
    points.unburn(ctx, claim.points, item.account)
    coupon = claim.coupon
    if coupon is not None:
        if coupon.status in (CouponStatus.CLAIMED, CouponStatus.TRANSFERRED):
            coupon.status = CouponStatus.INVALID
            coupon.save(update_fields=["status"])
        else:
            ctx.result.notes.append(f"Coupon {coupon.code!r} is {coupon.status} and was left as it is.")
    if item.gives == RewardGives.POINTS and item.points_given:
        ctx.result.notes.append(f"The {item.points_given} points the reward gave are not taken back.")
    item.claimed_count = max(item.claimed_count - 1, 0)
    item.save(update_fields=["claimed_count"])
    claim.revoked_at = ctx.now
    claim.save(update_fields=["revoked_at"])
    ctx.result.extra["reward_claim"] = claim
