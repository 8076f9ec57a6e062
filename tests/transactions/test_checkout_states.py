"""The transaction state machine (000 "Transactions"), including every refused transition."""

import pytest

from events.models import Event
from loyalty.errors import BusinessRuleError, Conflict, NotFound
from tests.factories import enroll, register
from transactions.models import Transaction

from .helpers import add_points, checkout, item, rule, spendable, tx

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(anna):
    """The shared Anna with an earning rule of 1 point a unit."""
    rule()
    return anna


@pytest.fixture
def accept_module(program):
    program.checkout_accept = True
    program.save()
    return program


def snapshot(tid="T-1"):
    row = Transaction.objects.filter(transaction_id=tid).values().first()
    return row, Event.objects.count(), spendable()


def test_checkout_without_the_accept_module_is_accepted_at_once_and_earns(anna):
    result = checkout("T-1", 200)
    t = tx()
    assert t.status == "accepted" and t.points_earned == 200 and t.points_credited
    assert spendable() == 200
    assert result.extra["transaction"].pk == t.pk
    assert Event.objects.get(pk=result.event.pk).transaction_id == "T-1"


def test_with_the_accept_module_points_wait_until_accept(anna, accept_module):
    checkout("T-1", 150)
    assert tx().status == "pending" and tx().points_earned == 150 and spendable() == 0
    register("checkout_accept", data={"transaction_id": "T-1"})
    assert tx().status == "accepted" and spendable() == 150


def test_reject_a_pending_transaction_credits_nothing(anna, accept_module):
    checkout("T-1", 150)
    register("checkout_reject", data={"transaction_id": "T-1"})
    assert tx().status == "rejected" and spendable() == 0


def test_reject_an_accepted_transaction_takes_its_points_back(anna):
    checkout("T-1", 150)
    register("checkout_reject", data={"transaction_id": "T-1"})
    t = tx()
    assert t.status == "rejected" and t.points_taken_back == 150 and spendable() == 0


def test_an_unknown_id_in_checkout_update_makes_a_draft_that_checkout_completes(anna):
    register("checkout_update", data={"transaction_id": "T-9", "total": 50})
    assert tx("T-9").status == "draft" and tx("T-9").total == 50 and spendable() == 0
    checkout("T-9", 80)
    assert tx("T-9").status == "accepted" and tx("T-9").total == 80 and spendable() == 80


def test_checkout_update_of_a_pending_transaction_reprices_it(anna, accept_module):
    checkout("T-1", 100, items=[item("A", 100)])
    register("checkout_update", data={"transaction_id": "T-1", "items": [item("A", 60), item("B", 20)]})
    t = tx()
    assert t.total == 80 and t.points_earned == 80 and t.items.count() == 2
    register("checkout_accept", data={"transaction_id": "T-1"})
    assert spendable() == 80


def test_refund_takes_back_everything_and_marks_refunded(anna):
    checkout("T-1", 200)
    register("refund", data={"transaction_id": "T-1"})
    t = tx()
    assert t.status == "refunded" and t.refunded_value == 200 and t.points_taken_back == 200
    assert spendable() == 0


def test_partial_refunds_take_back_in_proportion_and_finally_refund(anna):
    checkout("T-1", 200)
    register("partial_refund", data={"transaction_id": "T-1", "amount": "50"})
    assert tx().status == "accepted" and tx().points_taken_back == 50 and spendable() == 150
    register("partial_refund", data={"transaction_id": "T-1", "amount": 150})
    assert tx().status == "refunded" and tx().points_taken_back == 200 and spendable() == 0


def test_refund_item_refunds_that_line(anna):
    checkout("T-1", 300, items=[item("A", 100), item("B", 200, quantity=2)])
    register("refund_item", data={"transaction_id": "T-1", "product_id": "B", "quantity": 1})
    t = tx()
    assert t.refunded_value == 100 and t.points_taken_back == 100 and t.status == "accepted"
    register("refund_item", data={"transaction_id": "T-1", "product_id": "B"})
    register("refund_item", data={"transaction_id": "T-1", "product_id": "A"})
    assert tx().status == "refunded" and spendable() == 0


def test_a_refund_never_makes_the_balance_negative_and_records_the_shortfall(anna):
    checkout("T-1", 100)
    register("point_spend", data={"points": 70})
    result = register("refund", data={"transaction_id": "T-1"})
    t = tx()
    assert spendable() == 0
    assert t.points_taken_back == 30 and t.points_shortfall == 70
    assert any("shortfall" in note for note in result.notes)


def test_burned_points_are_spent_at_checkout_and_given_back_on_refund(anna):
    add_points(500)
    checkout("T-1", 100, points_burned=300)
    assert spendable() == 500 - 300 + 100
    register("refund", data={"transaction_id": "T-1"})
    assert spendable() == 500
    assert Event.objects.filter(action="point_unburn", transaction_id="T-1").count() == 1


def test_point_unburn_gives_back_part_of_the_burned_points(anna):
    add_points(500)
    checkout("T-1", 0, points_burned=300)
    register("point_unburn", data={"transaction_id": "T-1", "points": 100})
    assert spendable() == 300 and tx().points_unburned == 100
    with pytest.raises(BusinessRuleError, match="Only 200 burned points"):
        register("point_unburn", data={"transaction_id": "T-1", "points": 201})


# --- refused transitions: a clear error and nothing changes -----------------------------------

REFUSALS = [
    # (setup, action, extra data, error, message)
    ("none", "checkout_accept", {}, NotFound, "does not exist"),
    ("none", "checkout_reject", {}, NotFound, "does not exist"),
    ("none", "refund", {}, NotFound, "does not exist"),
    ("none", "partial_refund", {"amount": 1}, NotFound, "does not exist"),
    ("none", "refund_item", {"product_id": "A"}, NotFound, "does not exist"),
    ("none", "point_unburn", {"points": 1}, NotFound, "does not exist"),
    ("none", "checkout_claim", {}, NotFound, "does not exist"),
    ("draft", "checkout_accept", {}, BusinessRuleError, "is a draft"),
    ("draft", "checkout_reject", {}, BusinessRuleError, "is a draft"),
    ("draft", "refund", {}, BusinessRuleError, "is a draft"),
    ("draft", "partial_refund", {"amount": 1}, BusinessRuleError, "is a draft"),
    ("draft", "refund_item", {"product_id": "A"}, BusinessRuleError, "is a draft"),
    ("draft", "point_unburn", {"points": 1}, BusinessRuleError, "is a draft"),
    ("pending", "checkout", {"total": 5}, Conflict, "already exists"),
    ("pending", "refund", {}, BusinessRuleError, "Only accepted transactions can be refunded"),
    ("pending", "partial_refund", {"amount": 1}, BusinessRuleError, "Only accepted"),
    ("pending", "refund_item", {"product_id": "A"}, BusinessRuleError, "Only accepted"),
    ("accepted", "checkout", {"total": 5}, Conflict, "already exists"),
    ("accepted", "checkout_update", {"total": 5}, BusinessRuleError, "is accepted"),
    ("accepted", "checkout_accept", {}, Conflict, "already accepted"),
    ("accepted", "partial_refund", {"amount": 101}, BusinessRuleError, "left to refund"),
    ("accepted", "refund_item", {"product_id": "Z"}, BusinessRuleError, "has no item"),
    ("accepted", "refund_item", {"product_id": "A", "quantity": 2}, BusinessRuleError, "left to refund"),
    ("accepted", "point_unburn", {"points": 1}, BusinessRuleError, "burned points"),
    ("accepted", "checkout_claim", {}, Conflict, "already this customer's"),
    ("rejected", "checkout", {"total": 5}, Conflict, "already exists"),
    ("rejected", "checkout_update", {"total": 5}, BusinessRuleError, "is rejected"),
    ("rejected", "checkout_accept", {}, BusinessRuleError, "is rejected"),
    ("rejected", "checkout_reject", {}, Conflict, "already rejected"),
    ("rejected", "refund", {}, BusinessRuleError, "Only accepted"),
    ("rejected", "partial_refund", {"amount": 1}, BusinessRuleError, "Only accepted"),
    ("refunded", "checkout", {"total": 5}, Conflict, "already exists"),
    ("refunded", "checkout_update", {"total": 5}, BusinessRuleError, "is refunded"),
    ("refunded", "checkout_accept", {}, BusinessRuleError, "is refunded"),
    ("refunded", "checkout_reject", {}, BusinessRuleError, "is refunded"),
    ("refunded", "refund", {}, Conflict, "already refunded"),
    ("refunded", "partial_refund", {"amount": 1}, Conflict, "already refunded"),
    ("refunded", "refund_item", {"product_id": "A"}, Conflict, "already refunded"),
]


def _prepare(state, program):
    if state == "none":
        return
    if state == "draft":
        register("checkout_update", data={"transaction_id": "T-1", "total": 100, "items": [item("A", 100)]})
        return
    if state == "pending":
        program.checkout_accept = True
        program.save()
    checkout("T-1", 100, items=[item("A", 100)])
    if state == "rejected":
        register("checkout_reject", data={"transaction_id": "T-1"})
    if state == "refunded":
        register("refund", data={"transaction_id": "T-1"})


@pytest.mark.parametrize("state,action,extra,error,message", REFUSALS)
def test_refused_transitions_change_nothing(anna, program, state, action, extra, error, message):
    _prepare(state, program)
    before = snapshot()
    with pytest.raises(error, match=message):
        register(action, data={"transaction_id": "T-1", **extra})
    assert snapshot() == before


def test_pending_cannot_be_accepted_twice_or_rejected_after_accept_and_refunded(anna, accept_module):
    checkout("T-1", 100)
    register("checkout_accept", data={"transaction_id": "T-1"})
    with pytest.raises(Conflict):
        register("checkout_accept", data={"transaction_id": "T-1"})


def test_a_transaction_id_is_unique_per_environment_not_globally(anna):
    checkout("T-1", 100)
    enroll("Anna-1", environment="sandbox")
    register("checkout", data={"transaction_id": "T-1", "total": 10}, environment="sandbox")
    assert Transaction.objects.filter(transaction_id="T-1").count() == 2


def test_another_customers_transaction_is_refused(anna):
    enroll("Bob-2")
    checkout("T-1", 100)
    with pytest.raises(Conflict, match="already exists"):
        checkout("T-1", 100, customer="Bob-2")
    with pytest.raises(Conflict, match="another customer"):
        register("refund", "Bob-2", {"transaction_id": "T-1"})
