"""Loyalty card status changes (with a reason, through the engine: card_status_change), the card
list and export API (reference §7.2: GET .../cards, GET .../cards/export) and the console export."""

import csv
import io
import json

import pytest
import time_machine
from django.urls import reverse

from cards import cards
from cards.exports import COLUMNS
from cards.models import LoyaltyCard
from events.engine import register_event
from events.models import Event
from loyalty.errors import Conflict, NotFound, StatusForbids, ValidationError
from loyalty.models import Program
from tests.api.conftest import ApiClient
from tests.factories import enroll
from tests.loyalty.helpers import assert_page_access

pytestmark = pytest.mark.django_db
STATUS_ROLES = ("administrator", "program_manager", "support_agent")
EXPORT_ROLES = ("administrator", "program_manager", "analyst")


@pytest.fixture
def module(program):
    program = Program.objects.get(pk=program.pk)
    program.loyalty_cards = True
    program.save()
    enroll("anna-1")
    enroll("ben-2")
    with time_machine.travel("2025-03-01T10:00:00Z", tick=False):
        cards.create_card("live", "CARD-1")
    register_event(environment="live", customer="anna-1", action="card_register", data={"card": "CARD-1"})
    return program


def change(status, card="CARD-1", customer="anna-1", reason="lost in the park"):
    return register_event(
        environment="live",
        customer=customer,
        action="card_status_change",
        data={"card": card, "status": status},
        reason=reason,
    )


@pytest.fixture
def api(client, module):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="pos", environment="live")
    return ApiClient(client, api_key, secret)


# --- the engine ---------------------------------------------------------------------------------


def test_deactivate_activate_and_block_with_the_reason(module):
    change("inactive", reason="paused")
    assert LoyaltyCard.objects.get().status == "inactive"
    change("active", reason="back")
    result = change("blocked", reason="stolen")
    card = LoyaltyCard.objects.get()
    assert (card.status, card.block_reason) == ("blocked", "stolen")
    assert result.extra["card"] == {"code": "CARD-1", "status": "blocked", "before": "active"}
    assert [e.reason for e in Event.objects.filter(action="card_status_change").order_by("id")] == [
        "paused",
        "back",
        "stolen",
    ]


@pytest.mark.parametrize(
    ("setup", "status", "customer", "error", "field"),
    [
        (None, "lost", "anna-1", ValidationError, "data.status"),  # not a status
        (None, "active", "anna-1", Conflict, "data.status"),  # already active
        (None, "inactive", "ben-2", NotFound, "data.card"),  # not Ben's card
        ("blocked", "active", "anna-1", StatusForbids, "data.status"),  # blocked for good
    ],
)
def test_refusals_change_nothing(module, setup, status, customer, error, field):
    if setup:
        change(setup)
    before = Event.objects.count()
    with pytest.raises(error) as raised:
        change(status, customer=customer)
    assert raised.value.field == field
    assert Event.objects.count() == before
    assert LoyaltyCard.objects.get().status == (setup or "active")


def test_every_status_can_be_reached_from_active_and_only_blocked_is_final(module):
    """Generalised over every pair of statuses."""
    statuses = ("active", "inactive", "blocked")
    for first in statuses:
        for second in statuses:
            LoyaltyCard.objects.filter(code="CARD-1").update(status="active", block_reason="")
            if first != "active":
                change(first)
            if first == "blocked":  # blocked is final, even "blocked again"
                with pytest.raises(StatusForbids):
                    change(second)
            elif second == first:
                with pytest.raises(Conflict):
                    change(second)
            else:
                change(second)
                assert LoyaltyCard.objects.get().status == second


# --- the console --------------------------------------------------------------------------------


def test_console_status_change_per_role_and_reason(client, cast, module):
    page = reverse("cards:customer_card_status", kwargs={"ref": "anna-1", "code": "CARD-1"})
    assert_page_access(client, cast, page, allowed=STATUS_ROLES)
    admin_client = client
    client.force_login(cast["support_agent"])
    response = admin_client.post(page, {"status": "blocked", "reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert LoyaltyCard.objects.get().status == "active"
    response = admin_client.post(page, {"status": "blocked", "reason": "reported stolen"})
    assert response.status_code == 302
    card = LoyaltyCard.objects.get()
    assert (card.status, card.block_reason) == ("blocked", "reported stolen")
    tab = admin_client.get(reverse("cards:customer_cards", kwargs={"ref": "anna-1"})).content.decode()
    assert "Blocked" in tab or "blocked" in tab


def test_console_card_export(client, cast, module):
    url = reverse("cards:card_export")
    assert_page_access(client, cast, url, allowed=EXPORT_ROLES)
    admin_client = client
    client.force_login(cast["analyst"])
    text = b"".join(admin_client.get(url).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == COLUMNS
    assert rows[1] == ["CARD-1", "2025-03-01T10:00:00Z", "active", "1", "anna-1", "", "false", "", "{}"]


# --- the API ------------------------------------------------------------------------------------


def put(api, path, body):
    return api.request("PUT", path, json=body)


def test_api_status_of_a_registered_card_is_an_event(api, module):
    response = put(api, "/api/cards/CARD-1", {"status": "blocked", "blockReason": "stolen"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "blocked" and response.json()["blockReason"] == "stolen"
    event = Event.objects.get(action="card_status_change")
    assert event.customer.customer_id == "anna-1" and event.reason == "stolen"
    response = put(api, "/api/cards/CARD-1", {"status": "active"})
    assert response.status_code in (403, 409, 422) and response.json()["error"]["field"] == "status"


def test_api_status_of_an_anonymous_card(api, module):
    cards.create_card("live", "ANON-1")
    response = put(api, "/api/cards/ANON-1", {"status": "inactive"})
    assert response.status_code == 200 and LoyaltyCard.objects.get(code="ANON-1").status == "inactive"
    assert not Event.objects.filter(action="card_status_change").exists()
    for body, field in (({}, "status"), ({"status": "gone"}, "status")):
        response = put(api, "/api/cards/ANON-1", body)
        assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert LoyaltyCard.objects.get(code="ANON-1").status == "inactive"


def test_api_card_list_with_filters_and_pages(api, module):
    batch_id, codes = cards.generate_batch("live", 3)
    body = api.get("/api/cards").json()
    assert [c["identifier"] for c in body["data"]] == [*reversed(codes), "CARD-1"]
    assert body["hasMore"] is False
    body = api.get("/api/cards?pageSize=2&skip=1").json()
    assert [c["identifier"] for c in body["data"]] == [codes[1], codes[0]] and body["hasMore"] is True
    body = api.get("/api/cards?profileId=anna-1").json()
    assert [c["identifier"] for c in body["data"]] == ["CARD-1"]
    assert body["data"][0]["profiles"][0]["integrationId"] == "anna-1"
    assert len(api.get(f"/api/cards?batchId={batch_id}").json()["data"]) == 3
    assert api.get("/api/cards?identifier=CARD-1").json()["data"][0]["identifier"] == "CARD-1"
    response = api.get("/api/cards?pageSize=1001")
    assert response.status_code == 400 and response.json()["error"]["field"] == "pageSize"


def test_api_card_export(api, module):
    with time_machine.travel("2025-04-02T08:30:00Z", tick=False):
        batch_id, codes = cards.generate_batch("live", 2)
    response = api.get("/api/cards/export?dateFormat=dmy")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["identifier"] for r in rows) == sorted(["CARD-1", *codes])
    assert rows[0]["created"] == "01/03/2025 10:00:00" and rows[0]["customerprofileids"] == "anna-1"
    assert {r["generated"] for r in rows[1:]} == {"true"} and {r["batchid"] for r in rows[1:]} == {batch_id}
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(api.get("/api/cards/export?createdAfter=2025-04-01").streaming_content).decode()
            )
        )
    )
    assert len(rows) == 2
    response = api.get("/api/cards/export?dateFormat=excel")
    assert response.status_code == 400 and response.json()["error"]["field"] == "dateFormat"
    assert json.loads(rows[0]["attributes"]) == {}


def test_api_card_import(api, module):
    response = api.request(
        "POST",
        "/api/cards/import",
        body="identifier,status\nIMP-1,active\nIMP-2,inactive\n",
        content_type="text/csv",
    )
    assert response.status_code == 201 and response.json() == {"imported": 2}
    assert LoyaltyCard.objects.get(code="IMP-2").status == "inactive"
    response = api.request(
        "POST", "/api/cards/import", body="identifier\nIMP-3\nbad code\n", content_type="text/csv"
    )
    assert response.status_code == 400 and "Line 3" in response.json()["error"]["message"]
    assert not LoyaltyCard.objects.filter(code="IMP-3").exists()
    response = api.request("POST", "/api/cards/import", body="identifier\nCARD-1\n", content_type="text/csv")
    assert response.status_code == 409


def test_csv_bodies_must_be_utf8_text():
    from types import SimpleNamespace

    from loyalty.api.parsers import csv_text

    assert csv_text(SimpleNamespace(data="\ufeffidentifier\nA\n".encode())) == "identifier\nA\n"
    for body, limit in ((b"identifier\n\xff\n", 100), (b"x" * 101, 100)):
        with pytest.raises(ValidationError) as error:
            csv_text(SimpleNamespace(data=body), limit)
        assert error.value.field == "file"
