"""Scheduled coupon housekeeping (django-q2): coupon expiry (hourly Schedule from migration 0002)
and the settlement of ended auctions (every few minutes, migration 0009)."""

from __future__ import annotations

import logging

from django.db import transaction

from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from loyalty import clock
from loyalty.choices import Environment
from loyalty.errors import EngineError

from . import auctions
from .choices import BidStatus
from .coupons import expire_due
from .models import RewardBid

log = logging.getLogger("loyalty.auctions")


def expire_coupons(environments=None) -> int:
    """Store the expired status of held coupons whose date has passed, each environment up to its
    own time (the sandbox's test clock). Idempotent: a second run finds nothing to change. No
    points move, so no event is registered."""
    return sum(
        expire_due(clock.now(environment), environment) for environment in environments or Environment.values
    )


def release_bid(bid: RewardBid) -> bool:
    """Register `reward_bid_release` for an outbid or void bid's customer (their reserved points
    back), in a savepoint of the caller's transaction, which holds the auction's lock. A customer
    who cannot have it any more (opted out, merged away) is logged and the bid marked void: the
    auction goes on. Returns True when the points were released."""
    try:
        register_event(
            environment=bid.environment,
            customer=Customer(pk=bid.customer_id),
            action="reward_bid_release",
            data={"reward": str(bid.reward_id), "bid": bid.event_id},
            source=EventSource.SYSTEM,
            internal=True,
        )
    except EngineError as error:
        RewardBid.objects.filter(pk=bid.pk).update(status=BidStatus.VOID)
        log.warning("bid %s not released: %s (code %s)", bid.pk, error, getattr(error, "code", None))
        return False
    return True


def settle_auction(reward_id: int, environment: str) -> str:
    """Settle one ended auction in `environment`: the leading bid's customer gets the `reward`
    event (source system; its reserved points are spent, the reward is claimed), under the
    auction's lock. A winner who cannot claim gets the points back and the bid becomes void.
    Returns "won", "void" or "" (nothing to settle: no leading bid, or not ended yet)."""
    with transaction.atomic():
        item = auctions.lock_auction(reward_id)
        if item is None or item.valid_until is None or clock.now(environment) < item.valid_until:
            return ""
        bid = auctions.leading_bid(item, environment)
        if bid is None:
            return ""
        try:
            register_event(
                environment=environment,
                customer=Customer(pk=bid.customer_id),
                action="reward",
                data={"reward": str(item.pk), "bid": bid.event_id},
                source=EventSource.SYSTEM,
            )
        except EngineError as error:
            log.warning(
                "auction %s (%s): the winning bid %s is void: %s", item.pk, environment, bid.pk, error
            )
            RewardBid.objects.filter(pk=bid.pk).update(status=BidStatus.VOID)
            bid.status = BidStatus.VOID
            release_bid(bid)
            return "void"
        return "won"


def settle_auctions(environments=None) -> int:
    """Settle every ended auction that still has a leading bid, each environment by its own clock
    (the sandbox's test clock). Idempotent: a settled auction has no leading bid. Returns the
    number of auctions settled (won or void)."""
    settled = 0
    for environment in environments or Environment.values:
        due = (
            RewardBid.objects.filter(
                environment=environment,
                status=BidStatus.LEADING,
                reward__bidding=True,
                reward__valid_until__lte=clock.now(environment),
            )
            .values_list("reward_id", flat=True)
            .distinct()
        )
        settled += sum(1 for reward_id in list(due) if settle_auction(reward_id, environment))
    return settled
