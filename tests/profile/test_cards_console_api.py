"""Loyalty cards: the customer's tab and actions per role, the card list pages, the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cards import cards
from cards.models import CardRegistration, LoyaltyCard
from events.models import Event
from loyalty.models import Program
from tests.api.conftest import ApiClient
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

pytestmark = pytest.mark.django_db
STATUS_ROLES = ("administrator", "program_manager", "support_agent")
CATALOG_ROLES = ("administrator", "program_manager")


@pytest.fixture
def module(program):
    program = Program.objects.get(pk=program.pk)
    program.loyalty_cards = True
    program.save()
    enroll("anna-1")
    cards.create_card("live", "CARD-1")
    return program


def url(name, **kwargs):
    return reverse(f"cards:{name}", kwargs=kwargs)


def test_tab_per_role(client, cast, module):
    cards.create_card("live", "CARD-2")
    from events.engine import register_event

    register_event(environment="live", customer="anna-1", action="card_register", data={"card": "CARD-2"})
    responses = assert_page_access(client, cast, url("customer_cards", ref="anna-1"), allowed=STAFF_ROLES)
    html = responses["administrator"].content.decode()
    assert "CARD-2" in html and "Registered" in html and "Code" in html and "Status" in html


def test_register_unregister_transfer_from_the_console(admin_client, module):
    response = admin_client.post(
        url("customer_card_register", ref="anna-1"), {"card": "CARD-1", "reason": "in store"}
    )
    assert response.status_code == 302
    assert CardRegistration.objects.get().customer.customer_id == "anna-1"
    response = admin_client.post(
        url("customer_card_transfer", ref="anna-1", code="CARD-1"),
        {"new_card": "CARD-NEW", "reason": "lost card"},
    )
    assert response.status_code == 302
    old = LoyaltyCard.objects.get(code="CARD-1")
    assert old.status == "blocked" and old.block_reason == "lost card"
    # the profile can be opened by its card code
    assert (
        admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "card:CARD-NEW"})).status_code
        == 200
    )
    response = admin_client.post(
        url("customer_card_unregister", ref="anna-1", code="CARD-NEW"), {"reason": "bye"}
    )
    assert response.status_code == 302 and not CardRegistration.objects.exists()
    assert [e.reason for e in Event.objects.filter(action__startswith="card_").order_by("id")] == [
        "in store",
        "lost card",
        "bye",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"card": "no spaces", "reason": "x"}, "card"),
        ({"card": "NOPE", "reason": "x"}, "card"),
        ({"card": "CARD-1", "reason": ""}, "reason"),
    ],
)
def test_register_bad_input(admin_client, module, data, field):
    response = admin_client.post(url("customer_card_register", ref="anna-1"), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not CardRegistration.objects.exists()


def test_transfer_to_existing_card_is_a_form_error(admin_client, module):
    cards.create_card("live", "CARD-2")
    admin_client.post(url("customer_card_register", ref="anna-1"), {"card": "CARD-1", "reason": "x"})
    response = admin_client.post(
        url("customer_card_transfer", ref="anna-1", code="CARD-1"), {"new_card": "CARD-2", "reason": "x"}
    )
    assert response.status_code == 200 and "exists already" in str(response.context["form"].errors)
    assert LoyaltyCard.objects.get(code="CARD-1").status == "active"


def test_action_pages_per_role(client, cast, module):
    assert_page_access(client, cast, url("customer_card_register", ref="anna-1"), allowed=STATUS_ROLES)


def test_card_list_pages(client, cast, module):
    assert_page_access(client, cast, url("card_list"), allowed=STAFF_ROLES)
    for name in ("card_add", "card_generate", "card_import"):
        assert_page_access(client, cast, url(name), allowed=CATALOG_ROLES)


def test_generate_and_import_in_the_console(admin_client, module):
    assert admin_client.post(url("card_generate"), {"count": 5, "status": "active"}).status_code == 302
    assert LoyaltyCard.objects.count() == 6
    upload = SimpleUploadedFile("cards.csv", b"identifier\nIMP-1\nIMP-2\n", content_type="text/csv")
    assert admin_client.post(url("card_import"), {"file": upload}).status_code == 302
    bad = SimpleUploadedFile("cards.csv", b"identifier\nIMP-3\nbad code\n", content_type="text/csv")
    response = admin_client.post(url("card_import"), {"file": bad})
    assert response.status_code == 200 and "Line 3" in response.content.decode()
    assert not LoyaltyCard.objects.filter(code="IMP-3").exists()
    response = admin_client.post(url("card_generate"), {"count": 20001, "status": "active"})
    assert response.status_code == 200 and "count" in response.context["form"].errors


def test_module_off_hides_everything(admin_client, module):
    module.loyalty_cards = False
    module.save()
    assert admin_client.get(url("card_list")).status_code == 404
    assert admin_client.get(url("customer_cards", ref="anna-1")).status_code == 404
    assert admin_client.get(url("customer_card_register", ref="anna-1")).status_code == 404
    html = admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "anna-1"})).content.decode()
    assert url("customer_cards", ref="anna-1") not in html and url("card_list") not in html


# --- API ---------------------------------------------------------------------------------------


@pytest.fixture
def api(client, module):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="pos", environment="live")
    return ApiClient(client, api_key, secret)


def test_api_link_read_transfer(api):
    response = api.post("/api/cards/CARD-1/link_profile", {"integrationId": "anna-1"})
    assert response.status_code == 200, response.content
    assert [p["integrationId"] for p in response.json()["profiles"]] == ["anna-1"]
    read = api.get("/api/customers/card:CARD-1")
    assert read.status_code == 200 and "anna-1" in read.content.decode()
    response = api.request(
        "PUT", "/api/cards/CARD-1/transfer", json={"newCardIdentifier": "CARD-9", "blockReason": "stolen"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["identifier"] == "CARD-9"
    old = api.get("/api/cards/CARD-1").json()
    assert (
        old["status"] == "blocked" and old["blockReason"] == "stolen" and old["newCardIdentifier"] == "CARD-9"
    )
    assert api.get("/api/customers/anna-1/cards").json()["cards"][0]["identifier"] == "CARD-9"


def test_api_events_accept_the_card_as_customer(api):
    api.post("/api/cards/CARD-1/link_profile", {"integrationId": "anna-1"})
    response = api.post(
        "/api/events", {"customer": "card:CARD-1", "action": "point_add", "data": {"points": 3}}
    )
    assert response.status_code == 200
    assert Event.objects.filter(action="point_add", customer__customer_id="anna-1").exists()


def test_api_create_and_batch(api):
    response = api.post("/api/cards", {"cardIdentifier": "NEW-1", "customerProfileIds": ["anna-1"]})
    assert response.status_code == 201 and response.json()["profiles"][0]["integrationId"] == "anna-1"
    response = api.post("/api/cards", {"customerProfileIds": ["nobody-here"]})
    assert response.status_code == 404  # unknown customer: no card left behind
    assert LoyaltyCard.objects.count() == 2
    response = api.post("/api/cards/batch", {"numberOfCards": 3})
    assert response.status_code == 201 and len(response.json()["cards"]) == 3
    response = api.post("/api/cards/batch", {"numberOfCards": 20001})
    assert response.status_code == 400 and response.json()["error"]["field"] == "count"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/cards", {"cardIdentifier": "bad code"}, 400, "cardIdentifier"),
        ("POST", "/api/cards", {"cardIdentifier": "CARD-1"}, 409, "code"),
        ("POST", "/api/cards/NOPE/link_profile", {"integrationId": "anna-1"}, 404, "card"),
        ("POST", "/api/cards/CARD-1/link_profile", {}, 400, "integrationId"),
        ("PUT", "/api/cards/CARD-1/transfer", {"newCardIdentifier": "X-1"}, 422, "card"),
        ("PUT", "/api/cards/CARD-1/transfer", {}, 400, "newCardIdentifier"),
    ],
)
def test_api_bad_input(api, method, path, body, status, field):
    response = api.request(method, path, json=body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["field"] == field


def test_api_transfer_to_existing_card(api):
    cards.create_card("live", "CARD-2")
    api.post("/api/cards/CARD-1/link_profile", {"integrationId": "anna-1"})
    response = api.request("PUT", "/api/cards/CARD-1/transfer", json={"newCardIdentifier": "CARD-2"})
    assert response.status_code == 409 and response.json()["error"]["field"] == "newCardIdentifier"
