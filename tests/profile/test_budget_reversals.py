"""Reversals give budget back (reference §7.4: a cancelled session reverts its budget usage, a
partial return adjusts it): refunds, partial refunds, item refunds and rejections of a
transaction return the points they took back; a coupon use given back and a revoked reward claim
return 1; always to the counter of the period the usage was counted in, never below 0."""

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgets.models import Budget, BudgetCounter
from coupons.models import Coupon
from events.engine import register_event
from loyalty.errors import BusinessRuleError
from loyalty.models import Program
from tests.factories import CouponPoolFactory, RewardFactory
from tests.transactions.helpers import item, rule

NOW = dt.datetime(2025, 5, 14, 12, 0, tzinfo=dt.UTC)


def reg(action, customer="ada", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


def counter(budget, start=None) -> int:
    rows = BudgetCounter.objects.filter(budget=budget)
    if start is not None:
        rows = rows.filter(period_start=start)
    return sum(rows.values_list("counter", flat=True))


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False) as traveller:
        program = Program.objects.get_or_create()[0]
        program.budgets = True
        program.save()
        rule()  # 1 point per unit of money
        reg("opt_in")
        yield traveller


def test_a_full_refund_gives_back_the_points_it_took(world):
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=300, period="monthly")
    reg("checkout", transaction_id="T-1", total=200)
    assert counter(budget) == 200
    with pytest.raises(BusinessRuleError):  # 200 + 200 > 300
        reg("checkout", transaction_id="T-2", total=200)
    reg("refund", transaction_id="T-1")
    assert counter(budget) == 0
    reg("checkout", transaction_id="T-3", total=200)  # the budget is free again
    assert counter(budget) == 200


def test_a_partial_refund_and_an_item_refund_give_back_their_share(world):
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=10_000, period="monthly")
    reg("checkout", transaction_id="T-1", total=200)
    reg("partial_refund", transaction_id="T-1", amount="50")
    assert counter(budget) == 150  # 50 of the 200 points taken back
    reg(
        "checkout",
        transaction_id="T-2",
        total=300,
        items=[item("P-1", subtotal=100), item("P-2", subtotal=200, quantity=2)],
    )
    assert counter(budget) == 450
    reg("refund_item", transaction_id="T-2", product_id="P-2", quantity=1)
    assert counter(budget) == 350  # one of two P-2 (100 of 300): 100 points back


def test_a_return_months_later_gives_back_to_the_month_of_the_purchase(world):
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=10_000, period="monthly")
    reg("checkout", transaction_id="T-1", total=200)
    world.move_to(NOW + dt.timedelta(days=40))  # June
    reg("checkout", transaction_id="T-2", total=70)
    reg("refund", transaction_id="T-1")
    assert counter(budget, dt.date(2025, 5, 1)) == 0
    assert counter(budget, dt.date(2025, 6, 1)) == 70  # this month's usage is untouched


def test_a_rejected_checkout_gives_back_its_points(world):
    program = Program.objects.get()
    program.checkout_accept = True
    program.save()
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=10_000, period="daily")
    reg("checkout", transaction_id="T-1", total=120)
    used = counter(budget)
    reg("checkout_reject", transaction_id="T-1")
    assert counter(budget) == 0 and used in (0, 120)


def test_points_the_customer_had_spent_stay_used(world):
    """A refund that cannot take points back (they were spent) gives back only what it took."""
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=10_000, period="monthly")
    reg("checkout", transaction_id="T-1", total=200)
    reg("point_spend", points=150)
    reg("refund", transaction_id="T-1")
    assert counter(budget) == 150  # 50 taken back, 150 kept (recorded as shortfall)


def test_a_coupon_use_given_back_frees_the_coupon_budget(world):
    budget = Budget.objects.create(
        campaign="Coupons", action="coupon_redemptions", limit=1, period="weekly", per_coupon=True
    )
    pool = CouponPoolFactory(usage_limit=5)
    code = Coupon.objects.create(pool=pool, code="SAVE-1").code
    reg("coupon_assign", pool=pool.pk)
    reg("checkout", transaction_id="T-1", total=50, coupon_code=code)
    assert counter(budget) == 1
    reg("refund", transaction_id="T-1")  # a full reversal gives the coupon use back
    assert counter(budget) == 0


def test_a_revoked_reward_claim_frees_the_claims_budget(world):
    budget = Budget.objects.create(campaign="Shop", action="reward_claims", limit=1, period="monthly")
    reward = RewardFactory(points=10)
    reg("point_add", points=100)
    claim = reg("reward", reward=reward.pk)
    assert counter(budget) == 1
    with pytest.raises(BusinessRuleError):
        reg("reward", reward=reward.pk)
    reg("reward_revoke", event=claim.event.pk)
    assert counter(budget) == 0
    reg("reward", reward=reward.pk)
    assert counter(budget) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(totals=st.lists(st.integers(1, 400), min_size=1, max_size=4), refunds=st.data())
def test_the_counter_is_always_the_points_kept(world, totals, refunds):
    """Generalised: after any checkouts and (partial) refunds the counter equals the points the
    customer still holds from those purchases, never below 0."""
    Budget.objects.all().delete()
    BudgetCounter.objects.all().delete()
    budget = Budget.objects.create(campaign="Any", action="points_awarded", limit=10**9, period="yearly")
    tag = Budget.objects.get().pk  # transaction IDs unique across examples
    kept = 0
    for index, total in enumerate(totals):
        tid = f"H-{tag}-{index}"
        reg("checkout", transaction_id=tid, total=total)
        amount = refunds.draw(st.integers(0, total))
        if amount == total:
            reg("refund", transaction_id=tid)
        elif amount:
            reg("partial_refund", transaction_id=tid, amount=str(amount))
        kept += total - amount  # 1 point per unit: the points taken back equal the refunded value
    assert counter(budget) == kept
