"""The sessions export (transactions.session_export; reference §7.4 export_customer_sessions
columns): the Sessions tab's Export per role and GET /api/sessions/export."""

import csv
import io
import json

import pytest
import time_machine
from django.urls import reverse

from tests.api.conftest import ApiClient
from tests.factories import enroll, register
from tests.loyalty.helpers import assert_page_access
from tests.transactions.helpers import checkout, item, rule
from transactions.session_export import COLUMNS

pytestmark = pytest.mark.django_db
EXPORT_ROLES = ("administrator", "program_manager", "analyst")


@pytest.fixture
def world(program):
    rule()
    with time_machine.travel("2024-10-12T07:20:50Z", tick=False):
        enroll()
        enroll("Ben-2")
        checkout(
            "T-1",
            total=300,
            items=[item("P-1", subtotal=100, quantity=2, discount=10), item("P-2", subtotal=200)],
            coupon_codes=[],
            channel="store-7",
        )
    with time_machine.travel("2024-10-13T09:00:00Z", tick=False):
        checkout("T-2", total=40)
        register("refund", data={"transaction_id": "T-2"})
        checkout("T-3", total=60, customer="Ben-2")
        register("refund_item", data={"transaction_id": "T-1", "product_id": "P-1", "quantity": 1})


def read(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_console_export_of_the_customers_sessions(client, cast, world):
    url = reverse("transactions:customer_sessions_export", kwargs={"ref": "Anna-1"})
    assert_page_access(client, cast, url, allowed=EXPORT_ROLES)
    client.force_login(cast["analyst"])
    response = client.get(url)
    text = b"".join(response.streaming_content).decode()
    assert next(csv.reader(io.StringIO(text))) == COLUMNS
    rows = {r["integrationid"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"T-1", "T-2"}  # only Anna's
    first = rows["T-1"]
    assert first["created"] == "2024-10-12T07:20:50Z" and first["state"] == "partially_returned"
    assert first["profileintegrationid"] == "Anna-1" and first["store_integration_id"] == "store-7"
    assert first["total"] == "300.00" and first["discounts"] == "10.00"
    assert first["closedat"] == "2024-10-12T07:20:50Z" and first["cancelledat"] == ""
    cart = json.loads(first["cartitems"])
    assert [(c["sku"], c["quantity"], c["returnedQuantity"]) for c in cart] == [("P-1", 2, 1), ("P-2", 1, 0)]
    assert rows["T-2"]["state"] == "cancelled" and rows["T-2"]["cancelledat"] == "2024-10-13T09:00:00Z"


def test_every_session_state_is_exported_as_the_tab_shows_it(client, cast, world):
    """Generalised: the export's state is the Sessions tab's state for every session."""
    from customers.models import Customer
    from transactions import sessions

    client.force_login(cast["administrator"])
    for ref in ("Anna-1", "Ben-2"):
        rows = read(client.get(reverse("transactions:customer_sessions_export", kwargs={"ref": ref})))
        tab = {
            t.transaction_id: sessions.state(t, t.returned_count)
            for t in sessions.sessions(Customer.objects.get(customer_id=ref))
        }
        assert {r["integrationid"]: r["state"] for r in rows} == tab


def test_api_export_filters(client, world):
    from loyalty.api.keys import create_api_key

    key, secret = create_api_key(name="bi", environment="live")
    api = ApiClient(client, key, secret)
    rows = read(api.get("/api/sessions/export"))
    assert [r["integrationid"] for r in rows] == ["T-1", "T-2", "T-3"]
    rows = read(api.get("/api/sessions/export?createdAfter=2024-10-13&dateFormat=dmy"))
    assert [r["integrationid"] for r in rows] == ["T-2", "T-3"] and rows[0][
        "created"
    ] == "13/10/2024 09:00:00"
    rows = read(api.get("/api/sessions/export?profileIntegrationId=Ben-2"))
    assert [r["integrationid"] for r in rows] == ["T-3"]
    for query, field in (
        ("dateFormat=excel", "dateFormat"),
        ("createdAfter=soon", "createdAfter"),
        ("createdAfter=2024-10-13&createdBefore=2024-10-12", "createdBefore"),
    ):
        response = api.get(f"/api/sessions/export?{query}")
        assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert api.get("/api/sessions/export?profileIntegrationId=nobody").status_code == 404
