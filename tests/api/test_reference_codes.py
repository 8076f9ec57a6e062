"""Issue 15 §3: the reference's error codes (reference-behaviour.md §8.4) where it documents one,
each sent as an integrator would, through POST /api/events (or the endpoint that raises it), with
nothing stored by the refused request."""

from __future__ import annotations

import pytest

from coupons.models import CouponPool, Reward, RewardClaim
from coupons.pools import import_codes
from customers.choices import CustomerStatus
from customers.models import Customer
from events.models import Event
from loyalty.ledger.accounts import default_account
from tests.factories import enroll, register
from tests.transactions.helpers import add_points, checkout

from .conftest import error_of

pytestmark = pytest.mark.django_db


def send(api, action, customer="Anna-1", **data):
    return api.post("/api/events", json={"customer": customer, "action": action, "data": data})


def refused(response, code, field=None):
    assert response.status_code >= 400, response.json()
    error = error_of(response)
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def set_status(customer_id, status):
    Customer.objects.filter(customer_id=customer_id).update(status=status)


def test_112101_opt_in_of_an_enrolled_customer(api, program):
    enroll()
    before = Event.objects.count()
    error = refused(send(api, "opt_in", email="again@example.com"), 112101, "customer")
    assert error["type"] == "BadRequestException"
    assert Event.objects.count() == before
    assert Customer.objects.get(customer_id="Anna-1").email != "again@example.com"


def test_5003_transaction_id_already_used(api, program):
    enroll()
    checkout("T-1")
    refused(send(api, "checkout", transaction_id="T-1", total=10), 5003, "data.transaction_id")


def test_110003_a_suspended_customer_may_not_spend(api, program):
    enroll()
    add_points(100)
    set_status("Anna-1", CustomerStatus.SUSPENDED)
    refused(send(api, "point_spend", points=10), 110003, "customer")
    refused(send(api, "reserve_points", points=10), 110003, "customer")


def test_112201_only_accepted_transactions_are_refunded(api, program):
    enroll()
    checkout("T-1")
    register("checkout_reject", data={"transaction_id": "T-1"})
    refused(send(api, "refund", transaction_id="T-1"), 112201, "data.transaction_id")


def _accepted(tid="T-1", total=200):
    enroll()
    checkout(tid, total=total)
    from transactions.models import Transaction

    if Transaction.objects.get(transaction_id=tid).status != "accepted":
        register("checkout_accept", data={"transaction_id": tid})


def test_112202_refund_amount_must_be_positive(api, program):
    _accepted()
    refused(send(api, "partial_refund", transaction_id="T-1", amount=0), 112202, "data.amount")


def test_112203_refund_amount_over_the_transaction_total(api, program):
    _accepted()
    refused(send(api, "partial_refund", transaction_id="T-1", amount=201), 112203, "data.amount")


def test_112900_unspend_more_than_spent(api, program):
    enroll()
    add_points(100)
    register("point_spend", data={"points": 10})
    refused(send(api, "point_unspend", points=11), 112900, "data.points")


def test_114400_only_active_customers_can_be_suspended(api, program):
    enroll()
    set_status("Anna-1", CustomerStatus.BANNED)
    refused(send(api, "suspend"), 114400, "customer")


def test_114600_only_suspended_customers_can_be_unsuspended(api, program):
    enroll()
    refused(send(api, "unsuspend"), 114600, "customer")


def test_120030_and_120031_suspended_customers_are_not_merged(api, program):
    enroll("Anna-1")
    enroll("Bob-2")
    set_status("Bob-2", CustomerStatus.SUSPENDED)
    # POST /customers/{id}/merge {target}: {id} (Anna-1) is merged into the suspended target
    refused(api.post("/api/customers/Anna-1/merge", json={"target": "Bob-2"}), 120030)
    refused(api.post("/api/customers/Bob-2/merge", json={"target": "Anna-1"}), 120031)
    assert (
        Customer.objects.filter(customer_id__in=["Anna-1", "Bob-2"], anonymized_at__isnull=True).count() == 2
    )


@pytest.fixture
def mug(program):
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10, usage_limit=1)
    import_codes(pool, "AAA-1\nBBB-2\nCCC-3\n")
    enroll()
    add_points(1000)
    return Reward.objects.create(name="Mug", points=10, account=default_account(), gives="coupon", pool=pool)


def claim(api, reward):
    return api.post(f"/api/customers/Anna-1/rewards/{reward.pk}/claim", json={})


def test_120211_reward_claim_limit(api, mug):
    mug.per_customer_limit = 1
    mug.save()
    assert claim(api, mug).status_code == 200
    refused(claim(api, mug), 120211, "data.reward")
    assert RewardClaim.objects.count() == 1


def test_120212_reward_out_of_stock(api, mug):
    mug.stock = 0
    mug.save()
    refused(claim(api, mug), 120212, "data.reward")


def test_120213_customer_not_eligible(api, mug):
    mug.eligible_statuses = ["pending"]
    mug.save()
    refused(claim(api, mug), 120213, "data.reward")


def test_160321_reward_not_active(api, mug):
    mug.active = False
    mug.save()
    refused(claim(api, mug), 160321, "data.reward")


def test_110003_a_suspended_customer_cannot_claim(api, mug):
    set_status("Anna-1", CustomerStatus.SUSPENDED)
    refused(claim(api, mug), 110003, "customer")


def test_160212_customer_not_found(api, program):
    refused(api.get("/api/customers/ghost"), 160212, "customer")


def test_every_code_raised_is_in_the_docs_table():
    """docs/api.md's table lists each code this module tests (and the API's own)."""
    from pathlib import Path

    table = Path(__file__).resolve().parents[2].joinpath("docs", "api.md").read_text()
    for code in (
        5003,
        10001,
        110003,
        112101,
        112201,
        112202,
        112203,
        112204,
        112900,
        114400,
        114600,
        120030,
        120031,
        120211,
        120212,
        120213,
        127201,
        160212,
        160321,
        203408,
    ):
        assert f"| {code} |" in table, code


@pytest.mark.parametrize(
    ("amount", "code"),
    [("50.01", 112204), ("120", 112204), ("200", 112204), ("50", None), ("0.01", None)],
)
def test_112204_refund_amount_over_the_customers_purchase_total(api, program, amount, code):
    """The customer's purchase total can be lower than a transaction's remainder when the history
    was carried over from another system (the total as imported); the refund may not exceed it."""
    from decimal import Decimal

    _accepted()
    Customer.objects.filter(customer_id="Anna-1").update(purchase_total=Decimal("50"))
    before = Event.objects.count()
    response = send(api, "partial_refund", transaction_id="T-1", amount=amount)
    if code is None:
        from transactions.models import Transaction

        assert response.status_code == 200, response.json()
        assert Transaction.objects.get(transaction_id="T-1").refunded_value == Decimal(amount)
    else:
        refused(response, code, "data.amount")
        assert Event.objects.count() == before


@pytest.fixture
def one_time_survey(db):
    from events.models import EventDefinition

    EventDefinition.objects.create(action="welcome_survey", label="Welcome survey", points=50, one_time=True)
    EventDefinition.objects.create(action="store_visit", label="Store visit", points=5)


def test_10001_a_one_time_event_cannot_be_repeated(api, program, one_time_survey):
    enroll()
    assert send(api, "welcome_survey").status_code == 200
    before = Event.objects.count()
    error = refused(send(api, "welcome_survey"), 10001, "action")
    assert error["message"] == "Action 'welcome_survey' cannot be repeated."
    assert Event.objects.count() == before
    assert Customer.objects.get(customer_id="Anna-1").spendable == 50  # awarded once
    # another customer may, and an event that is not one-time repeats freely
    enroll("Bob-2")
    assert send(api, "welcome_survey", customer="Bob-2").status_code == 200
    assert all(send(api, "store_visit").status_code == 200 for _ in range(3))


def test_10001_on_every_path(api, program, one_time_survey, admin_client):
    """Bulk (the item's error), dry run, the console's Add event (a form error), the engine."""
    from django.urls import reverse

    from loyalty.errors import OneTimeActionRepeated

    enroll()
    body = {"events": [{"customer": "Anna-1", "action": "welcome_survey"}] * 2}
    results = api.post("/api/events/bulk", json=body).json()["results"]
    assert "events" in results[0] and results[1]["error"]["code"] == 10001
    assert api.post("/api/events?dry_run=true", json=body["events"][0]).json()["error"]["code"] == 10001
    url = reverse("customers:customer_add_event", kwargs={"ref": "Anna-1"})
    response = admin_client.post(url, {"action": "welcome_survey", "reason": "again"})
    assert response.status_code == 200 and "cannot be repeated" in response.content.decode()
    with pytest.raises(OneTimeActionRepeated):
        register("welcome_survey")
    assert Event.objects.filter(action="welcome_survey").count() == 1


def test_10001_survives_a_merge(api, program, one_time_survey):
    """The survivor holds the merged-away profile's events: it has done the one-time action."""
    enroll()
    enroll("Dup-1")
    assert send(api, "welcome_survey", customer="Dup-1").status_code == 200
    assert api.post("/api/customers/Dup-1/merge", json={"target": "Anna-1"}).status_code == 200
    refused(send(api, "welcome_survey"), 10001, "action")
