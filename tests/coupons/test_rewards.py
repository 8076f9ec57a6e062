"""The rewards catalog and claiming (the `reward` event)."""

import datetime as dt

import pytest

from coupons import rewards
from coupons.models import Coupon, CouponPool, Reward, RewardClaim
from coupons.pools import generate_codes
from loyalty import clock
from loyalty.errors import BusinessRuleError, InsufficientPoints, NotFound, StatusForbids
from loyalty.ledger.accounts import default_account
from tests.factories import console, register
from tests.transactions.helpers import add_points, spendable

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(db):
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    generate_codes(pool, 5)
    return pool


def make_reward(**fields):
    values = {"name": "Mug", "points": 100, "account": default_account(), **fields}
    return Reward.objects.create(**values)


@pytest.fixture
def anna(anna):
    """The shared Anna with 250 points."""
    add_points(250)
    return anna


def claim(reward, customer="Anna-1"):
    return register("reward", customer, {"reward": reward.pk})


def test_claiming_spends_the_points_and_assigns_a_coupon_in_one_event(anna, pool):
    reward = make_reward(gives="coupon", pool=pool)
    result = claim(reward)
    coupon = result.extra["coupon"]
    assert coupon.customer == anna and coupon.status == "claimed"
    assert spendable() == 150
    assert [e.action for e in result.events] == ["reward", "coupon_assign"]
    reward.refresh_from_db()
    assert reward.claimed_count == 1 and RewardClaim.objects.get().coupon == coupon


def test_a_reward_that_gives_points(anna):
    reward = make_reward(gives="points", points=50, points_given=80)
    claim(reward)
    assert spendable() == 250 - 50 + 80


def test_not_enough_points_changes_nothing(anna, pool):
    reward = make_reward(gives="coupon", pool=pool, points=300)
    with pytest.raises(InsufficientPoints):
        claim(reward)
    reward.refresh_from_db()
    assert (
        reward.claimed_count == 0
        and not Coupon.objects.exclude(customer=None).exists()
        and spendable() == 250
    )


def test_suspended_and_banned_customers_cannot_claim(anna):
    reward = make_reward()
    register("suspend", data={})
    with pytest.raises(StatusForbids):
        claim(reward)
    register("unsuspend", data={})
    console("ban", data={})
    with pytest.raises(StatusForbids):
        claim(reward)
    assert not RewardClaim.objects.exists()


def test_stock_per_customer_limit_and_validity_window(anna):
    out = make_reward(stock=1, points=1)
    claim(out)
    with pytest.raises(BusinessRuleError, match="out of stock"):
        claim(out)
    once = make_reward(name="Once", per_customer_limit=1, points=1)
    claim(once)
    with pytest.raises(BusinessRuleError, match="limit"):
        claim(once)
    later = make_reward(name="Later", valid_from=clock.now() + dt.timedelta(days=1), points=1)
    with pytest.raises(BusinessRuleError, match="before"):
        claim(later)
    gone = make_reward(name="Gone", valid_until=clock.now() - dt.timedelta(days=1), points=1)
    with pytest.raises(BusinessRuleError, match="until"):
        claim(gone)
    with pytest.raises(NotFound):
        register("reward", data={"reward": 99999})


def test_an_empty_pool_refuses_the_claim_and_keeps_the_points(anna):
    empty = CouponPool.objects.create(name="Empty", type="amount", value=5)
    reward = make_reward(gives="coupon", pool=empty)
    with pytest.raises(BusinessRuleError, match="no coupons left"):
        claim(reward)
    assert spendable() == 250


def test_claimable_lists_what_the_customer_may_claim(anna, program):
    from loyalty.models import Tier, TierStructure

    open_reward = make_reward(name="Open")
    make_reward(name="Inactive", active=False)
    make_reward(name="Sold out", stock=0)
    structure = TierStructure.objects.create(code="s", name="S")
    gold = Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=10**9)
    tiered = make_reward(name="Gold only")
    tiered.eligible_tiers.add(gold)
    assert [r.name for r in rewards.claimable(anna, clock.now())] == [open_reward.name]
