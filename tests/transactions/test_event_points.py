"""Issue 13 §5: every event's `points` is what that event changed, with its expiry date; item
events of an update supersede instead of repeating; the events reconcile with the ledger, per
customer and account, over the demo data and over generated commerce sequences."""

import itertools
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coupons.models import CouponPool, Reward
from customers.models import Customer
from events.models import Event
from loyalty.errors import EngineError
from loyalty.ledger.accounts import default_account
from loyalty.ledger.checks import verify_customer, verify_event_points
from loyalty.models import PointAccount, PointLot, Program
from tests.api.conftest import api, live_key  # noqa: F401  (fixtures)
from tests.factories import enroll, register
from transactions.choices import EarningMode

from .helpers import add_points, checkout, item, rule, spendable, tx

pytestmark = pytest.mark.django_db


def _accept_module(on=True):
    program = Program.objects.get(pk=Program.current().pk)
    program.checkout_accept = on
    program.save()


def test_the_issue_example_pending_items_updates_and_accept(program):
    _accept_module()
    rule(mode=EarningMode.PER_ITEM, product_multipliers={"P-1": 3})
    enroll()
    items = [item("P-1", 100), item("P-2", 50)]
    first = checkout("T-1", 150, items=items)
    register("checkout_update", data={"transaction_id": "T-1", "items": items})
    accept = register("checkout_accept", data={"transaction_id": "T-1"})
    assert spendable() == 350
    assert accept.event.points == 350 and accept.event.expires_at is None  # no expiration rule
    assert Event.objects.get(pk=accept.event.pk).points == 350
    item_events = Event.objects.filter(action__in=["checkout_item", "checkout_update_item"])
    assert sorted(item_events.values_list("action", flat=True)) == [
        "checkout_item",
        "checkout_item",
        "checkout_update_item",
        "checkout_update_item",
    ]
    assert sum(item_events.values_list("points", flat=True)) == 0  # they changed nothing yet
    assert first.event.points == 0
    assert sum(Event.objects.filter(customer__customer_id="Anna-1").values_list("points", flat=True)) == 350
    assert {row.item_event.action for row in tx().items.all()} == {"checkout_update_item"}
    assert verify_event_points(Customer.objects.get(customer_id="Anna-1")) == []


def test_a_plain_checkout_carries_its_points_and_their_expiry(program, api):  # noqa: F811
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period", expiration_period=12, expiration_unit="months"
    )
    rule()
    enroll()
    response = api.post(
        "/api/events",
        {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": "T-1", "total": 200}},
    )
    assert response.status_code == 200, response.content
    events = response.json()["events"]
    assert [(e["action"], e["points"]) for e in events] == [("checkout", 200)]
    assert events[0]["expdate"] is not None
    stored = Event.objects.get(action="checkout")
    assert stored.points == 200 and stored.expires_at == PointLot.objects.get().expires_at


def test_refunds_reward_claims_and_burns_carry_what_they_changed(program):
    rule()
    enroll()
    add_points(1000)
    checkout("T-1", 200, points_burned=100)
    assert Event.objects.get(action="checkout").points == 200 - 100
    partial = register("partial_refund", data={"transaction_id": "T-1", "amount": 50})
    assert partial.event.points == -50
    assert [e.points for e in partial.events if e.action == "point_unburn"] == [25]
    full = register("refund", data={"transaction_id": "T-1"})
    assert full.event.points == -150
    reward = Reward.objects.create(name="Mug", points=300, account=default_account())
    claim = register("reward", data={"reward": str(reward.pk)})
    assert claim.event.points == -300
    gift = CouponPool.objects.create(name="Gift", type="gift_card", value=5)
    assert gift.pk  # coupons move no points: their events carry 0
    assert verify_event_points(Customer.objects.get(customer_id="Anna-1")) == []


def test_reject_takes_back_with_negative_points(program):
    rule(mode=EarningMode.PER_ITEM)
    enroll()
    checkout("T-1", 30, items=[item("A", 10), item("B", 20)])
    assert sorted(Event.objects.filter(action="checkout_item").values_list("points", flat=True)) == [10, 20]
    assert Event.objects.get(action="checkout").points == 0
    reject = register("checkout_reject", data={"transaction_id": "T-1"})
    assert reject.event.points == -30
    assert verify_event_points(Customer.objects.get(customer_id="Anna-1")) == []


def test_a_dry_run_shows_the_points_it_would_change(program):
    rule()
    enroll()
    result = register("checkout", data={"transaction_id": "T-dry", "total": 40}, dry_run=True)
    assert result.event.points == 40
    assert not Event.objects.filter(action="checkout").exists()


# --- the reconciliation invariant -------------------------------------------------------------


def test_the_demo_data_reconciles(program):
    call_command("seed_demo", customers=8, sandbox_customers=2, stdout=StringIO())
    problems = {
        customer.customer_id: verify_event_points(customer) + verify_customer(customer)
        for customer in Customer.objects.all()
    }
    assert Event.objects.exclude(points=0).count() > 20
    assert {key: value for key, value in problems.items() if value} == {}


_names = itertools.count()
money = st.decimals(min_value=D("1"), max_value=D("300"), places=2)
STEP = st.one_of(
    st.tuples(st.just("checkout"), money, st.integers(0, 50)),
    st.tuples(st.just("update"), money, st.just(0)),
    st.tuples(st.just("accept"), st.just(D(0)), st.just(0)),
    st.tuples(st.just("reject"), st.just(D(0)), st.just(0)),
    st.tuples(st.just("partial"), st.integers(1, 100).map(D), st.just(0)),
    st.tuples(st.just("item"), st.just(D(0)), st.integers(1, 2)),
    st.tuples(st.just("refund"), st.just(D(0)), st.just(0)),
    st.tuples(st.just("spend"), st.just(D(0)), st.integers(1, 40)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(STEP, min_size=1, max_size=10),
    mode=st.sampled_from([EarningMode.PER_TRANSACTION, EarningMode.PER_ITEM]),
    accept_module=st.booleans(),
)
def test_generated_commerce_sequences_reconcile(program, steps, mode, accept_module):
    _accept_module(accept_module)
    rule(mode=mode, product_multipliers={"A": 3})
    name = f"R-{next(_names)}"
    enroll(name)
    add_points(100, customer=name)
    tids = []
    for kind, amount, extra in steps:
        tid = tids[-1] if tids else "none"
        try:
            if kind == "checkout":
                tid = f"{name}-{len(tids)}"
                tids.append(tid)
                lines = [item("A", float(amount)), item("B", 10, quantity=2)]
                checkout(tid, float(amount) + 20, customer=name, items=lines, points_burned=extra)
            elif kind == "update":
                lines = [item("A", float(amount)), item("B", 10, quantity=2)]
                register("checkout_update", name, {"transaction_id": tid, "items": lines})
            elif kind == "accept":
                register("checkout_accept", name, {"transaction_id": tid})
            elif kind == "reject":
                register("checkout_reject", name, {"transaction_id": tid})
            elif kind == "partial":
                register("partial_refund", name, {"transaction_id": tid, "amount": str(amount)})
            elif kind == "item":
                register("refund_item", name, {"transaction_id": tid, "product_id": "B", "quantity": extra})
            elif kind == "refund":
                register("refund", name, {"transaction_id": tid})
            elif kind == "spend":
                register("point_spend", name, {"points": extra})
        except EngineError:
            pass  # refused steps change nothing
    customer = Customer.objects.get(customer_id=name)
    assert verify_event_points(customer) == []
    assert verify_customer(customer) == []
    assert spendable(name) == customer.spendable
