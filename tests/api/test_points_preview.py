"""`POST /api/extensions/automation/campaign-bonus` (the reference's Points Preview API): the
points a checkout would earn, by a dry run; nothing stored; the preview equals what the checkout
then earns."""

import pytest

from events.models import Event
from tests.factories import enroll
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def preview(api, data, **extra):
    return api.post(
        "/api/extensions/automation/campaign-bonus",
        json={"customer": "Anna-1", "action": "checkout", "data": data, **extra},
    )


ORDERS = [
    {"transaction_id": "P-1", "total": "200"},
    {"transaction_id": "P-2", "total": "23.99"},
    {
        "transaction_id": "P-3",
        "total": "23",
        "items": [
            {"product_id": "prd", "price": "12.23", "discount": "1.23", "quantity": 3, "subtotal": "33"}
        ],
    },
]


@pytest.mark.parametrize("order", ORDERS)
def test_the_preview_is_what_the_checkout_then_earns_and_stores_nothing(api, program, order):
    enroll()
    before = (Event.objects.count(), Transaction.objects.count())
    response = preview(api, order)
    assert response.status_code == 200, response.content
    body = response.json()["data"]
    assert body["campaigns"] == [] and body["purchase"]["bonus"] == 0
    assert (Event.objects.count(), Transaction.objects.count()) == before
    registered = api.post("/api/events", json={"customer": "Anna-1", "action": "checkout", "data": order})
    assert registered.status_code == 200
    earned = Transaction.objects.get(transaction_id=order["transaction_id"]).points_earned
    assert body["purchase"] == {"base": earned, "bonus": 0, "points": earned}
    # an order already sent can still be previewed
    assert preview(api, order).json()["data"]["purchase"]["points"] == earned


def test_a_rule_of_two_points_per_unit_previews_400_for_200(api, program):
    from loyalty.ledger.accounts import default_account
    from transactions.models import EarningRule

    EarningRule.objects.create(account=default_account(), points_per_unit=2)
    enroll()
    assert preview(api, ORDERS[0]).json()["data"]["purchase"] == {"base": 400, "bonus": 0, "points": 400}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "Anna-1", "action": "point_add", "data": {"points": 1}}, "action"),
        ({"customer": "Anna-1", "action": "checkout", "data": {"total": "5"}}, "data.transaction_id"),
        (
            {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": "x", "total": "-1"}},
            "data.total",
        ),
    ],
)
def test_bad_requests_are_the_envelope(api, program, body, field):
    enroll()
    response = api.post("/api/extensions/automation/campaign-bonus", json=body)
    assert 400 <= response.status_code < 500 and response.json()["error"]["field"] == field
