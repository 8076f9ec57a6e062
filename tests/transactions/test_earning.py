"""Earning-rule arithmetic: rates, rounding, multipliers, exclusions, minimum, first-purchase bonus,
and the property that refunds never take back more than was earned."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import enroll, register
from transactions import earning
from transactions.choices import EarningMode, RoundingMode
from transactions.models import Transaction

from .helpers import add_points, balance, checkout, item, rule, spendable, tx

D = Decimal


def line(product="P", category="c", subtotal="10", quantity=1):
    return earning.Line(product, category, quantity, D(subtotal))


def test_points_per_unit_with_each_rounding():
    for mode, expected in ((RoundingMode.DOWN, 12), (RoundingMode.NEAREST, 13), (RoundingMode.UP, 13)):
        r = earning.Rule(points_per_unit=D("1.5"), rounding=mode)
        assert earning.compute(r, D("8.40"), [], first_purchase=False).points == expected


def test_category_and_product_multipliers_and_exclusions_per_transaction():
    r = earning.Rule(
        category_multipliers={"shoes": 2},
        product_multipliers={"GOLD": 3},
        excluded_categories=["gift-cards"],
        excluded_products=["BAG"],
    )
    lines = [
        line("A", "shoes", "10"),
        line("GOLD", "shoes", "10"),
        line("G", "gift-cards", "50"),
        line("BAG", "x", "5"),
    ]
    # 75 total: shoes 10x2, GOLD 10x3 (product wins), gift cards and BAG excluded
    assert earning.compute(r, D("75"), lines, first_purchase=False).points == 20 + 30


def test_per_item_rounds_each_line():
    r = earning.Rule(mode=EarningMode.PER_ITEM, points_per_unit=D("0.1"))
    result = earning.compute(
        r, D("30"), [line("A", subtotal="15"), line("B", subtotal="15")], first_purchase=False
    )
    assert result.line_points == (1, 1) and result.points == 2  # per transaction it would be 3


def test_minimum_total_and_first_purchase_bonus():
    r = earning.Rule(minimum_total=D("50"), first_purchase_bonus=100)
    assert earning.compute(r, D("49.99"), [], first_purchase=True).points == 0
    assert earning.compute(r, D("50"), [], first_purchase=True).points == 150
    assert earning.compute(r, D("50"), [], first_purchase=False).points == 50


def test_take_back_is_proportional_cumulative_and_bounded():
    assert earning.take_back(300, 0, D("100"), D("300")) == 100
    assert earning.take_back(100, 33, D("2"), D("3")) == 33
    assert earning.take_back(100, 90, D("3"), D("3")) == 10
    assert earning.take_back(100, 100, D("3"), D("3")) == 0


@pytest.mark.django_db
def test_first_purchase_bonus_only_once_through_the_engine(program):
    rule(first_purchase_bonus=50)
    enroll()
    checkout("T-1", 10)
    checkout("T-2", 10)
    assert tx("T-1").points_earned == 60 and tx("T-2").points_earned == 10


@pytest.mark.django_db
def test_per_item_rewarding_emits_one_checkout_item_event_per_line(program):
    rule(mode=EarningMode.PER_ITEM)
    enroll()
    result = checkout("T-1", 30, items=[item("A", 10), item("B", 20)])
    children = [e for e in result.events if e.action == "checkout_item"]
    assert [e.points for e in children] == [10, 20]
    assert spendable() == 30


_names = itertools.count()
money = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)


@st.composite
def purchases(draw):
    items = draw(
        st.lists(
            st.tuples(money, st.integers(1, 3), st.sampled_from(["a", "b", "x"])), min_size=1, max_size=4
        )
    )
    refunds = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("partial"), st.integers(1, 100)),  # percent of what is left
                st.tuples(st.just("item"), st.integers(0, 3)),
                st.just(("spend", 0)),
                st.just(("full", 0)),
            ),
            max_size=5,
        )
    )
    mode = draw(st.sampled_from([EarningMode.PER_TRANSACTION, EarningMode.PER_ITEM]))
    rate = draw(st.sampled_from([D("0.5"), D("1"), D("2.5")]))
    return items, refunds, mode, rate


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=purchases())
def test_refunds_never_take_back_more_than_was_earned_and_balances_stay_consistent(program, case):
    from loyalty.errors import EngineError

    items, refunds, mode, rate = case
    Transaction.objects.all().delete()
    rule(mode=mode, points_per_unit=rate, category_multipliers={"a": 2}, excluded_categories=["x"])
    name = f"H-{next(_names)}"
    enroll(name)
    lines = [item(f"P{i}", float(sub), quantity=q, category=c) for i, (sub, q, c) in enumerate(items)]
    checkout("T-H", sum(float(s) for s, _, _ in items), customer=name, items=lines)
    t = tx("T-H")
    earned = t.points_earned
    assert spendable(name) == earned
    for kind, value in refunds:
        t = tx("T-H")
        try:
            if kind == "partial":
                amount = (t.total - t.refunded_value) * value / 100
                amount = amount.quantize(D("0.01"))
                if amount > 0:
                    register("partial_refund", name, {"transaction_id": "T-H", "amount": str(amount)})
            elif kind == "item":
                register(
                    "refund_item", name, {"transaction_id": "T-H", "product_id": f"P{value}", "quantity": 1}
                )
            elif kind == "spend":
                if spendable(name):
                    register("point_spend", name, {"points": max(spendable(name) // 2, 1)})
            else:
                register("refund", name, {"transaction_id": "T-H"})
        except EngineError:
            pass  # refused (nothing left / already refunded): must change nothing, checked below
        t = tx("T-H")
        assert 0 <= t.points_taken_back + t.points_shortfall <= t.points_earned == earned
        assert spendable(name) >= 0
        assert t.refunded_value <= t.total
    if t.status == "refunded":
        assert t.points_taken_back + t.points_shortfall == earned


@pytest.mark.django_db
def test_balance_figures_stay_consistent_after_refunds(program):
    from customers.models import Customer

    rule()
    enroll()
    add_points(40)
    checkout("T-1", 100, points_burned=30)
    register("partial_refund", data={"transaction_id": "T-1", "amount": 25})
    c = Customer.objects.get(customer_id="Anna-1")
    b = balance()
    assert b.earned == b.spendable + b.pending + b.reserved + b.spent + b.expired
    assert (c.score, c.spendable) == (b.earned, b.spendable)
    assert tx().points_taken_back == 25 and tx().points_unburned == 7


@pytest.mark.django_db
def test_per_item_points_wait_for_accept_and_an_item_refund_takes_back_that_lines_points(program):
    program.checkout_accept = True
    program.save()
    rule(mode=EarningMode.PER_ITEM, category_multipliers={"shoes": 3})
    enroll()
    checkout("T-1", 60, items=[item("A", 20, category="shoes"), item("B", 40, quantity=2)])
    assert tx().points_earned == 60 + 40 and spendable() == 0
    register("checkout_accept", data={"transaction_id": "T-1"})
    assert spendable() == 100
    register("refund_item", data={"transaction_id": "T-1", "product_id": "A"})
    t = tx()
    assert (
        t.points_taken_back == 60 and t.refunded_value == 20 and spendable() == 40 and t.status == "accepted"
    )
    register("refund_item", data={"transaction_id": "T-1", "product_id": "B", "quantity": 1})
    assert tx().points_taken_back == 80 and spendable() == 20
