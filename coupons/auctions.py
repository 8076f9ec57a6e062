"""Bidding (auction) rewards: the `reward_bid` and `reward_bid_release` events, and the winner's claim.

The reference (reference-behaviour.md §8.2, its Display API `POST .../rewards/{reward}/bid`): a
reward of type `bidding` is not claimed but bid for from its start to its end; a bid without an
`amount` is the highest bid plus the bid step (or the starting bid when nobody has bid); the
highest bid when the auction ends wins the reward. Bidding rewards cannot be claimed otherwise.

Ours, where the reference is silent (docs/api.md "Bidding rewards"):
- The auction runs from the reward's `valid_from` to its `valid_until` (required for a bidding
  reward); each environment (live, sandbox) has its own auction of a reward.
- A bid reserves its points (spendable -> reserved) in the reward's account. Only the leading
  bid holds points: outbidding registers `reward_bid_release` for the previous leader, which
  gives theirs back; a leader who raises their own bid has the old one released in the same event.
- When the auction has ended, the scheduled `coupons.tasks.settle_auctions` registers the
  winner's `reward` event (source system): the reserved points are spent and the reward is
  claimed as any other (coupon, points, the claim record). A winner who can no longer claim
  (suspended, out of stock) gets the points back and the bid becomes void.

Locks, always in this order: the reward row (the auction), the bidder, the previous leader. The
entry points (the Display API's bid, the settlement task) take the reward lock before they
register the bidder's event (`lock_auction`), so two bids on one auction are serialized and never
deadlock; `reward_bid` is internal for that reason (the generic Events API cannot register it).
The partial unique index `one_leading_bid_per_auction` backs it: never two leading bids.
"""

from __future__ import annotations

from customers.choices import CustomerStatus
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, ModuleDisabled, NotFound, StatusForbids
from transactions import points

from .choices import BidStatus
from .eligibility import availability  # the claim rules apply to bidders too
from .models import Reward, RewardBid

# Own codes (the reference documents none for these refusals; docs/api.md's table).
BID_TOO_LOW = 160450  # the amount is below the starting bid / the highest bid plus the bid step
NOT_BIDDING = 160451  # a bid on a reward that is not a bidding reward
BIDDING_ONLY = 160452  # a claim of a bidding reward (it is won by bidding, not claimed)
AUCTION_OPEN = 160453  # the winner's claim before the auction has ended
MAY_NOT_SPEND = 110003  # reference: the customer may not spend points


def lock_auction(reward_id: int) -> Reward | None:
    """Lock the reward row for this transaction (before any customer row); None when none."""
    return (
        Reward.objects.select_for_update(of=("self",)).select_related("account").filter(pk=reward_id).first()
    )


def leading_bid(reward: Reward, environment: str) -> RewardBid | None:
    return RewardBid.objects.filter(reward=reward, environment=environment, status=BidStatus.LEADING).first()


def minimum_bid(reward: Reward, leader: RewardBid | None) -> int:
    """The smallest acceptable bid: the starting bid (at least 1 point: a bid of 0 would reserve
    nothing), or the leading bid plus the bid step."""
    return max(reward.starting_bid, 1) if leader is None else leader.points + max(reward.bid_step, 1)


def _reward(ctx: HandlerContext) -> Reward:
    ref = ctx.data.get("reward")
    item = (
        lock_auction(int(ref)) if str(ref).isascii() and str(ref).isdigit() and len(str(ref)) < 19 else None
    )
    if item is None:
        raise NotFound(f"Reward {str(ref)[:100]!r} does not exist.", field="data.reward")
    return item


def reward_bid(ctx: HandlerContext) -> None:
    """The `reward_bid` event: bid `data.amount` points (default: the minimum bid) on the bidding
    reward `data.reward` for the locked customer; the points are reserved. Errors: 113408 the
    rewards module is off, 160404 no such reward, 160451 not a bidding reward, 160321 the auction
    has not started / has ended / the reward is inactive, 110003 the customer may not spend,
    120211-120213 the reward's other rules, 160450 below the minimum bid, 160423 not enough
    spendable points. `ctx.result.extra`: `reward_bid` (the new RewardBid) and `outbid` (the
    previous leader's bid, now outbid, whose release the caller registers) when another led."""
    if not ctx.program.rewards:
        raise ModuleDisabled("The Rewards module is disabled.", field="data.reward")
    customer = ctx.customer
    if not customer.can_spend:
        raise StatusForbids(
            f"A {customer.get_status_display().lower()} customer cannot bid.",
            field="customer",
            code=MAY_NOT_SPEND,
        )
    item = _reward(ctx)
    if not item.bidding:
        raise BusinessRuleError(
            f"Reward {item.name!r} is not a bidding reward; claim it instead.",
            field="data.reward",
            code=NOT_BIDDING,
        )
    ok, why = availability(item, customer, ctx.now)
    if not ok:
        raise BusinessRuleError(why, field="data.reward", code=why.code)
    leader = leading_bid(item, ctx.environment)
    minimum = minimum_bid(item, leader)
    amount = ctx.data.get("amount")
    amount = minimum if amount in (None, "") else int(amount)
    if amount < minimum or amount <= 0:
        raise BusinessRuleError(
            f"A bid on {item.name!r} must be at least {max(minimum, 1)} points.",
            field="data.amount",
            code=BID_TOO_LOW,
        )
    if leader is not None:
        leader.status = BidStatus.OUTBID
        if leader.customer_id == customer.pk:  # raising one's own bid: the old one is given back here
            release = ctx.emit(
                "reward_bid_release", data={"reward": str(item.pk), "bid": leader.event_id}, parent=ctx.event
            )
            points.release(ctx.follow_up(release), leader.points, item.account)
            leader.release_event = release
        else:
            ctx.result.extra["outbid"] = leader
        leader.save(update_fields=["status", "release_event"])
    points.reserve(ctx, amount, item.account)
    ctx.result.extra["reward_bid"] = RewardBid.objects.create(
        reward=item,
        customer=customer,
        environment=ctx.environment,
        event=ctx.event,
        points=amount,
        created_at=ctx.now,
    )
    ctx.result.extra["reward"] = item


def reward_bid_release(ctx: HandlerContext) -> None:
    """The internal `reward_bid_release` event: give back the points reserved by the customer's
    bid `data.bid` (its reward_bid event ID) on `data.reward`, outbid or void. Errors: 160404 no
    such bid of this customer, 160409 the bid is leading, won or already released."""
    bid = (
        RewardBid.objects.select_for_update(of=("self",))
        .select_related("reward__account")
        .filter(customer=ctx.customer, event_id=ctx.data.get("bid"), reward_id=ctx.data.get("reward"))
        .first()
    )
    if bid is None:
        raise NotFound(f"Bid {ctx.data.get('bid')!r} not found.", field="data.bid")
    if bid.status not in (BidStatus.OUTBID, BidStatus.VOID) or bid.release_event_id is not None:
        raise Conflict(
            f"Bid {bid.event_id} is {bid.status} and holds no points to release.", field="data.bid"
        )
    points.release(ctx, bid.points, bid.reward.account)
    bid.release_event = ctx.event
    bid.save(update_fields=["release_event"])


def claim_won(ctx: HandlerContext, item: Reward) -> int:
    """The winner's `reward` event of a bidding reward (registered by the settlement task, source
    system, `data.bid` = the winning bid's event ID): spend the bid's reserved points. Returns the
    points spent. Errors: 160452 any other claim of a bidding reward, 160404 no leading bid of this
    customer with that ID, 160453 the auction has not ended."""
    if ctx.source != "system":
        raise BusinessRuleError(
            f"Reward {item.name!r} is a bidding reward: bid for it (POST .../bid), the highest bid wins.",
            field="data.reward",
            code=BIDDING_ONLY,
        )
    bid = (
        RewardBid.objects.select_for_update(of=("self",))
        .filter(reward=item, customer=ctx.customer, event_id=ctx.data.get("bid"), status=BidStatus.LEADING)
        .first()
    )
    if bid is None:
        raise NotFound(f"No leading bid {ctx.data.get('bid')!r} of this customer.", field="data.bid")
    if item.valid_until is None or ctx.now < item.valid_until:
        raise BusinessRuleError(
            f"The auction of {item.name!r} has not ended.", field="data.reward", code=AUCTION_OPEN
        )
    if ctx.customer.status in (CustomerStatus.SUSPENDED, CustomerStatus.BANNED, CustomerStatus.OPTED_OUT):
        raise StatusForbids(
            f"A {ctx.customer.status} customer cannot claim rewards.", field="customer", code=MAY_NOT_SPEND
        )
    points.spend_reserved(ctx, bid.points, item.account)
    bid.status = BidStatus.WON
    bid.claim_event = ctx.event
    bid.save(update_fields=["status", "claim_event"])
    return bid.points
