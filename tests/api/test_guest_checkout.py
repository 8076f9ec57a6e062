"""Guest checkouts through POST /api/events (001, "Non-loyalty member guest customers")."""

from customers.models import Customer
from transactions.models import Transaction

GUEST_CHECKOUT = {
    "action": "checkout",
    "data": {
        "guest": "Guest.Buyer@example.com",
        "transaction_id": "guest-tx-1",
        "total": "200",
        "items": [
            {"product_id": "P-1", "product_name": "Mug", "quantity": "1", "price": "200", "subtotal": "200"}
        ],
    },
}


def test_a_guest_checkout_is_stored_without_a_profile(api):
    response = api.post("/api/events", json=GUEST_CHECKOUT)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] is None and body["transaction_id"] == "guest-tx-1"
    tx = Transaction.objects.get(transaction_id="guest-tx-1")
    assert tx.customer_id is None and tx.guest == "guest.buyer@example.com"
    assert not Customer.objects.exists()


def test_a_dry_run_guest_checkout_stores_nothing(api):
    response = api.post("/api/events?dry_run=true", json=GUEST_CHECKOUT)
    assert response.status_code == 200, response.content
    assert response.json()["dry_run"] is True
    assert not Transaction.objects.exists()


def test_enrolling_with_the_guest_email_claims_it(api):
    assert api.post("/api/events", json=GUEST_CHECKOUT).status_code == 200
    response = api.post(
        "/api/events",
        json={"customer": "new-member-1", "action": "opt_in", "data": {"email": "guest.buyer@example.com"}},
    )
    assert response.status_code == 200, response.content
    tx = Transaction.objects.get(transaction_id="guest-tx-1")
    assert tx.customer.customer_id == "new-member-1"


def test_a_repeated_guest_transaction_id_is_a_conflict(api):
    assert api.post("/api/events", json=GUEST_CHECKOUT).status_code == 200
    response = api.post("/api/events", json=GUEST_CHECKOUT)
    assert response.status_code == 409
    assert Transaction.objects.count() == 1
