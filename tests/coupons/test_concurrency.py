"""Concurrency on PostgreSQL: real threads, each with its own connection and transaction."""

import threading

import pytest
from django.db import connection, connections

from coupons.models import Coupon, CouponPool, Reward, RewardClaim
from coupons.pools import import_codes
from loyalty.errors import EngineError
from loyalty.ledger.accounts import default_account
from tests.factories import enroll, register
from tests.transactions.helpers import add_points, spendable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_concurrently(calls):
    """Start every call at once; returns (successes, errors)."""
    barrier = threading.Barrier(len(calls))
    ok, failed = [], []

    def worker(call):
        try:
            barrier.wait()
            ok.append(call())
        except EngineError as error:
            failed.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return ok, failed


def test_50_customers_claim_a_reward_with_stock_10_exactly_10_succeed(transactional_db):
    pool = CouponPool.objects.create(name="Pool", type="amount", value=5)
    import_codes(pool, "\n".join(f"CODE-{n:03d}" for n in range(60)))
    reward = Reward.objects.create(
        name="Ten", points=10, account=default_account(), stock=10, gives="coupon", pool=pool
    )
    names = [f"C-{n}" for n in range(50)]
    for name in names:
        enroll(name)
        add_points(10, name)
    ok, failed = run_concurrently(
        [lambda n=name: register("reward", n, {"reward": reward.pk}) for name in names]
    )
    reward.refresh_from_db()
    assert len(ok) == 10 and len(failed) == 40
    assert reward.claimed_count == 10 and RewardClaim.objects.count() == 10
    assert Coupon.objects.exclude(customer=None).count() == 10
    assert sum(spendable(name) for name in names) == 400


def test_one_customer_claiming_20_times_at_once_gets_exactly_what_they_can_afford(transactional_db):
    reward = Reward.objects.create(name="Cheap", points=100, account=default_account())
    enroll("Anna-1")
    add_points(300)
    ok, failed = run_concurrently([lambda: register("reward", "Anna-1", {"reward": reward.pk})] * 20)
    assert len(ok) == 3 and len(failed) == 17
    assert RewardClaim.objects.count() == 3 and spendable() == 0


def test_a_coupon_redeemed_concurrently_never_goes_over_its_usage_limit(transactional_db):
    pool = CouponPool.objects.create(name="Three uses", type="amount", value=5, usage_limit=3)
    import_codes(pool, "MULTI-1\n")
    enroll("Anna-1")
    register("coupon_assign", data={"code": "MULTI-1"})
    ok, failed = run_concurrently([lambda: register("coupon_redeem", "Anna-1", {"code": "MULTI-1"})] * 15)
    coupon = Coupon.objects.get(code="MULTI-1")
    assert len(ok) == 3 and coupon.usages == 3 and coupon.status == "redeemed"
    assert coupon.redemptions.count() == 3


def test_one_unassigned_coupon_redeemed_by_many_customers_at_once_goes_to_one(transactional_db):
    pool = CouponPool.objects.create(name="Shop code", type="amount", value=5, usage_limit=1)
    import_codes(pool, "SHOP-1\n")
    names = [f"C-{n}" for n in range(10)]
    for name in names:
        enroll(name)
    ok, failed = run_concurrently(
        [lambda n=name: register("coupon_redeem", n, {"code": "SHOP-1"}) for name in names]
    )
    assert len(ok) == 1 and Coupon.objects.get(code="SHOP-1").usages == 1
