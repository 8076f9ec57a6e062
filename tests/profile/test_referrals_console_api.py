"""Referred customers tab per role, Create referral code with a reason, export, API."""

import csv
import io

import pytest
from django.urls import reverse

from events.engine import register_event
from loyalty.models import Program
from referrals.models import ReferralCode
from tests.api.conftest import ApiClient
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

pytestmark = pytest.mark.django_db
COUPON_ROLES = ("administrator", "program_manager", "support_agent")


@pytest.fixture
def module(program):
    program = Program.objects.get(pk=program.pk)
    program.referrals = True
    program.save()
    enroll("ada")
    register_event(
        environment="live",
        customer="ada",
        action="referral_code_create",
        data={"code": "ADA-1", "usage_limit": 5},
    )
    register_event(environment="live", customer="fred", action="opt_in", data={"referral_code": "ADA-1"})
    return program


def tab(ref="ada"):
    return reverse("referrals:customer_referrals", kwargs={"ref": ref})


def test_tab_per_role_and_columns(client, cast, module):
    html = assert_page_access(client, cast, tab(), allowed=STAFF_ROLES)["administrator"].content.decode()
    for column in ("Session ID", "Code", "Referred customer"):
        assert f"<th>{column}</th>" in html
    assert "fred" in html and "1 of 5" in html
    client.force_login(cast["administrator"])
    assert "Referred by" in client.get(tab("fred")).content.decode()


def test_create_code_in_the_console(admin_client, module):
    url = reverse("referrals:customer_create_code", kwargs={"ref": "ada"})
    response = admin_client.post(url, {"code": "ADA-2", "usage_limit": 0, "reason": "campaign"})
    assert response.status_code == 302
    assert ReferralCode.objects.get(code="ADA-2").usage_limit == 0
    response = admin_client.post(url, {"code": "ADA-2", "reason": "again"})
    assert response.status_code == 200 and "exists already" in str(response.context["form"].errors)
    response = admin_client.post(url, {"code": "a b", "reason": "x"})
    assert response.status_code == 200 and "code" in response.context["form"].errors
    response = admin_client.post(url, {"code": "ADA-3", "reason": ""})
    assert response.status_code == 200 and not ReferralCode.objects.filter(code="ADA-3").exists()


def test_create_code_per_role(client, cast, module):
    assert_page_access(
        client, cast, reverse("referrals:customer_create_code", kwargs={"ref": "ada"}), allowed=COUPON_ROLES
    )


def test_export(client, cast, module):
    response = assert_page_access(
        client,
        cast,
        reverse("referrals:export_codes"),
        allowed=("administrator", "program_manager", "analyst"),
    )["analyst"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["code", "advocateprofileintegrationid"] and rows[1][:2] == ["ADA-1", "ada"]


def test_module_off(admin_client, module):
    module.referrals = False
    module.save()
    assert admin_client.get(tab()).status_code == 404
    assert admin_client.get(reverse("referrals:export_codes")).status_code == 404


@pytest.fixture
def api(client, module):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="shop", environment="live")
    return ApiClient(client, api_key, secret)


def test_api(api):
    response = api.post(
        "/api/referrals", {"advocateProfileIntegrationId": "ada", "code": "ADA-9", "usageLimit": 2}
    )
    assert response.status_code == 201 and response.json()["usageLimit"] == 2
    body = api.get("/api/customers/ada/referrals").json()
    by = {c["code"]: c for c in body["referrals"]}
    assert by["ADA-1"]["referredCustomers"][0]["friendIntegrationId"] == "fred"
    friends = api.get("/api/customers/ada/friends").json()["friends"]
    assert friends[0]["code"] == "ADA-1"
    response = api.post(
        "/api/events", {"customer": "gina", "action": "opt_in", "data": {"referral_code": "ADA-9"}}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "advocateProfileIntegrationId"),
        ({"advocateProfileIntegrationId": "nobody"}, 404, "advocateProfileIntegrationId"),
        ({"advocateProfileIntegrationId": "ada", "code": "bad code"}, 400, "code"),
        ({"advocateProfileIntegrationId": "ada", "code": "ADA-1"}, 409, "code"),
        ({"advocateProfileIntegrationId": "ada", "usageLimit": -3}, 400, "usageLimit"),
    ],
)
def test_api_bad_input(api, body, status, field):
    response = api.post("/api/referrals", body)
    assert response.status_code == status, response.content
    assert response.json()["error"]["field"] == field


def test_api_redeem_refusal(api):
    response = api.post(
        "/api/events", {"customer": "fred", "action": "referral_redeem", "data": {"code": "ADA-1"}}
    )
    assert response.status_code == 409  # fred was referred already
