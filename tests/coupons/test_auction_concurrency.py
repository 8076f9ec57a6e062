"""Concurrent bids on PostgreSQL: real threads, each with its own connection and transaction,
through the same path as the Display API's .../bid (the auction locked before the customers)."""

import datetime as dt

import pytest
from django.db import connection, transaction

from coupons import auctions
from coupons.choices import BidStatus
from coupons.models import Reward, RewardBid
from coupons.tasks import release_bid
from loyalty import clock
from loyalty.errors import BusinessRuleError
from loyalty.ledger.accounts import default_account
from loyalty.models import PointBalance
from tests.coupons.test_concurrency import run_concurrently
from tests.factories import enroll, register

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def place_bid(customer, reward_id, amount=None):
    """What coupons.api.display.RewardBidView does, without HTTP."""
    data = {"reward": str(reward_id)} if amount is None else {"reward": str(reward_id), "amount": amount}
    with transaction.atomic():
        auctions.lock_auction(reward_id)
        result = register("reward_bid", customer, data, internal=True)
        if result.extra.get("outbid") is not None:
            release_bid(result.extra["outbid"])
    return result.extra["reward_bid"].points


@pytest.fixture
def auction(transactional_db):
    now = clock.now()
    return Reward.objects.create(
        name="Auction",
        account=default_account(),
        bidding=True,
        starting_bid=10,
        bid_step=5,
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=1),
    )


def reserved_by_customer():
    return dict(
        PointBalance.objects.filter(account=default_account()).values_list(
            "customer__customer_id", "reserved"
        )
    )


def test_two_simultaneous_bids_of_the_same_amount_one_wins_one_is_refused(auction):
    for name in ("A-1", "B-2"):
        enroll(name, points=100)
    ok, failed = run_concurrently([lambda n=name: place_bid(n, auction.pk, 50) for name in ("A-1", "B-2")])
    assert len(ok) == 1 and len(failed) == 1 and failed[0].code == auctions.BID_TOO_LOW
    assert RewardBid.objects.filter(status=BidStatus.LEADING).count() == 1
    assert sorted(reserved_by_customer().values()) == [0, 50]


def test_many_automatic_bids_at_once_leave_exactly_one_reservation(auction):
    names = [f"C-{n}" for n in range(8)]
    for name in names:
        enroll(name, points=1000)
    ok, failed = run_concurrently([lambda n=name: place_bid(n, auction.pk) for name in names])
    assert len(ok) == 8 and not failed  # serialized on the auction: each bids highest + step
    assert sorted(ok) == [10 + 5 * n for n in range(8)]
    leading = RewardBid.objects.get(status=BidStatus.LEADING)
    assert leading.points == 45
    reserved = reserved_by_customer()
    assert reserved[leading.customer.customer_id] == 45 and sum(reserved.values()) == 45
    assert RewardBid.objects.filter(status=BidStatus.OUTBID, release_event__isnull=False).count() == 7


def test_crossed_bids_of_two_customers_outbidding_each_other_never_deadlock(auction):
    for name in ("A-1", "B-2"):
        enroll(name, points=10_000)
    place_bid("A-1", auction.pk, 10)
    place_bid("B-2", auction.pk, 15)

    def rounds(name):
        for _ in range(10):
            try:
                place_bid(name, auction.pk)
            except BusinessRuleError:
                pass  # the other one raised meanwhile: a refusal, never a deadlock
        return name

    ok, failed = run_concurrently([lambda n=name: rounds(n) for name in ("A-1", "B-2")])
    assert sorted(ok) == ["A-1", "B-2"] and not failed
    leading = RewardBid.objects.get(status=BidStatus.LEADING)
    reserved = reserved_by_customer()
    assert (
        reserved[leading.customer.customer_id] == leading.points and sum(reserved.values()) == leading.points
    )
