"""Issue 13 §2: a reversal gives back every instrument that paid, as docs/reversals.md's table
says: one test per cell, and a Hypothesis test of random purchase / partial refund / full refund /
reject sequences (nothing returned twice, nothing lost)."""

import itertools
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coupons.models import Coupon, CouponPool, CouponRedemption
from coupons.pools import import_codes
from customers.models import Customer
from loyalty.errors import EngineError
from loyalty.ledger.checks import verify_customer, verify_event_points
from loyalty.models import Program
from tests.factories import enroll, register

from .helpers import add_points, item, spendable, tx

pytestmark = pytest.mark.django_db

REVERSALS = ["checkout_reject", "refund", "partial_refund", "refund_item", "checkout_update"]
INSTRUMENTS = ["points_burned", "gift_card", "amount", "percentage", "free_shipping"]

# What comes back, per (reversal, instrument), for a purchase of 60 (two items of 30) paid with
# 100 burned points / a gift card worth 100 (paying 60) / a single-use coupon. partial_refund
# returns 15 (a quarter), refund_item one item (a half), checkout_update lowers the total to 20.
EXPECTED = {
    # reversal: (points given back, gift card balance after, coupon uses after)
    "checkout_reject": (100, D("100"), 0),
    "refund": (100, D("100"), 0),
    "partial_refund": (25, D("55"), 1),
    "refund_item": (50, D("70"), 1),
    "checkout_update": (0, D("80"), 1),
}


def _accept_module(on: bool):
    program = Program.objects.get(pk=Program.current().pk)
    program.checkout_accept = on
    program.save()


def _purchase(instrument: str, *, pending: bool, customer="Anna-1", tid="T-1") -> str | None:
    """Checkout of 60 paid with `instrument`; returns the coupon code used, if any."""
    data = {"transaction_id": tid, "total": 60, "items": [item("A", 30), item("B", 30)]}
    code = None
    if instrument == "points_burned":
        data["points_burned"] = 100
    else:
        kind = "gift_card" if instrument == "gift_card" else instrument
        pool = CouponPool.objects.create(name=kind, type=kind, value=100 if kind == "gift_card" else 10)
        code = f"{kind.upper().replace('_', '-')}-{tid}"
        import_codes(pool, code + "\n")
        register("coupon_assign", customer, {"code": code})
        data["coupon_code"] = code.lower()  # any letter case (§3)
    register("checkout", customer, data)
    if pending:
        assert tx(tid).status == "pending"
    return code


def _reverse(reversal: str, tid="T-1", customer="Anna-1"):
    if reversal == "partial_refund":
        return register(reversal, customer, {"transaction_id": tid, "amount": 15})
    if reversal == "refund_item":
        return register(reversal, customer, {"transaction_id": tid, "product_id": "A"})
    if reversal == "checkout_update":
        return register(reversal, customer, {"transaction_id": tid, "total": 20})
    return register(reversal, customer, {"transaction_id": tid})


@pytest.mark.parametrize("instrument", INSTRUMENTS)
@pytest.mark.parametrize("reversal", REVERSALS)
def test_each_cell_of_the_reversal_table(program, reversal, instrument):
    pending = reversal == "checkout_update"  # only a pending transaction can be updated
    _accept_module(pending)
    enroll()
    add_points(1000)
    code = _purchase(instrument, pending=pending)
    _reverse(reversal)
    points_back, card_after, uses_after = EXPECTED[reversal]
    if instrument == "points_burned":
        assert spendable() == 1000 - 100 + points_back
        assert tx().points_unburned == points_back
    elif instrument == "gift_card":
        assert Coupon.objects.get(code=code).balance == card_after
        assert spendable() == 1000
    else:
        coupon = Coupon.objects.get(code=code)
        assert coupon.usages == uses_after
        assert coupon.status == ("redeemed" if uses_after else "claimed")
    customer = Customer.objects.get(customer_id="Anna-1")
    assert verify_customer(customer) == [] and verify_event_points(customer) == []


def test_the_issue_example_a_refund_gives_the_gift_card_back(program):
    _accept_module(False)
    enroll()
    code = _purchase("gift_card", pending=False)
    assert Coupon.objects.get(code=code).balance == D("40")
    register("refund", data={"transaction_id": "T-1"})
    assert tx().status == "refunded"
    assert Coupon.objects.get(code=code).balance == D("100")


def test_partial_refunds_reaching_the_total_give_everything_back_once(program):
    _accept_module(False)
    enroll()
    add_points(1000)
    code = _purchase("amount", pending=False)
    for _ in range(4):
        register("partial_refund", data={"transaction_id": "T-1", "amount": 15})
    assert tx().status == "refunded"
    assert Coupon.objects.get(code=code).usages == 0


_names = itertools.count()
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("partial_refund"), st.integers(1, 100)),  # percent of what is left
        st.tuples(st.just("refund_item"), st.sampled_from(["A", "B", "C"])),
        st.tuples(st.just("refund"), st.just(0)),
        st.tuples(st.just("checkout_reject"), st.just(0)),
    ),
    max_size=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, burned=st.integers(0, 300), total=st.integers(1, 150))
def test_random_reversal_sequences_return_nothing_twice_and_lose_nothing(program, steps, burned, total):
    _accept_module(False)
    name = f"Rev-{next(_names)}"
    enroll(name)
    add_points(500, customer=name)
    gift = CouponPool.objects.create(name="g", type="gift_card", value=100)
    amount = CouponPool.objects.create(name="a", type="amount", value=5)
    card, coupon = f"G-{name}", f"C-{name}"
    import_codes(gift, card + "\n")
    import_codes(amount, coupon + "\n")
    register("coupon_assign", name, {"code": card})
    register("coupon_assign", name, {"code": coupon})
    tid = f"T-{name}"
    lines = [item("A", total / 3, quantity=2), item("B", total / 3), item("C", total / 3)]
    register(
        "checkout",
        name,
        {
            "transaction_id": tid,
            "total": total,
            "items": lines,
            "points_burned": burned,
            "coupon_codes": [card, coupon],
        },
    )
    paid = CouponRedemption.objects.get(coupon__code=card).amount
    for kind, value in steps:
        t = tx(tid)
        try:
            if kind == "partial_refund":
                left = (t.total - t.refunded_value) * value / 100
                register(kind, name, {"transaction_id": tid, "amount": str(left.quantize(D("0.01")))})
            elif kind == "refund_item":
                register(kind, name, {"transaction_id": tid, "product_id": value, "quantity": 1})
            else:
                register(kind, name, {"transaction_id": tid})
        except EngineError:
            pass
        t = tx(tid)
        redemption = CouponRedemption.objects.get(coupon__code=card)
        balance = Coupon.objects.get(code=card).balance
        # Nothing lost, nothing twice: the card plus what the purchase still holds is its value.
        still_paid = D(0) if redemption.undone_at else redemption.amount - redemption.returned
        assert balance + still_paid == D("100")
        assert D(0) <= redemption.returned <= paid
        assert 0 <= t.points_unburned <= t.points_burned == burned
        assert spendable(name) == 500 - burned + t.points_unburned
        if t.status in ("refunded", "rejected"):
            assert balance == D("100") and t.points_unburned == burned
            assert Coupon.objects.get(code=coupon).usages == 0
        else:
            assert Coupon.objects.get(code=coupon).usages == 1
    customer = Customer.objects.get(customer_id=name)
    assert verify_customer(customer) == [] and verify_event_points(customer) == []


def _balance(customer="Anna-1"):
    row = Customer.objects.get(customer_id=customer)
    return row.spendable, row.reserved, row.spent


@pytest.mark.parametrize(
    "reversal, after",
    [
        ("checkout_reject", (1000, 0, 0)),  # held points released
        ("checkout_update", (960, 40, 0)),  # points_burned lowered to 40: 60 released
        ("point_unburn", (970, 30, 0)),  # 70 of the 100 held given back
        ("checkout_accept", (900, 0, 100)),  # the accept spends what was held
    ],
)
def test_reserved_points_of_a_pending_purchase(program, reversal, after):
    """The "reserved points" column of the table: while a transaction is pending its
    points_burned are only held (reserved); reversals release them, the accept spends them."""
    _accept_module(True)
    enroll()
    add_points(1000)
    register("checkout", data={"transaction_id": "T-1", "total": 60, "points_burned": 100})
    assert _balance() == (900, 100, 0)
    if reversal == "checkout_update":
        register(reversal, data={"transaction_id": "T-1", "points_burned": 40})
    elif reversal == "point_unburn":
        register(reversal, data={"transaction_id": "T-1", "points": 70})
    else:
        register(reversal, data={"transaction_id": "T-1"})
    assert _balance() == after
    customer = Customer.objects.get(customer_id="Anna-1")
    assert verify_customer(customer) == [] and verify_event_points(customer) == []
