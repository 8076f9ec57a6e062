"""Referral codes imported from CSV (referrals.imports: console and API, all rows or none) and the
referral_bonus action that workflows' Referral bonus registers (referrals.referrals)."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import NotFound, ValidationError
from loyalty.models import Program
from referrals.imports import import_codes
from referrals.models import ReferralCode
from referrals.referrals import advocate_of
from tests.api.conftest import ApiClient
from tests.loyalty.helpers import assert_page_access

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)
HEADER = "code,advocateprofileintegrationid,startdate,expirydate,limitval\n"


def reg(action, customer="ada", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


@pytest.fixture
def module(program):
    with time_machine.travel(NOW, tick=False):
        program = Program.objects.get(pk=program.pk)
        program.referrals = True
        program.save()
        reg("opt_in")
        reg("opt_in", customer="bea")
        yield program


def test_import_creates_each_code_for_its_advocate(module):
    text = HEADER + "ADA-1,ada,2025-05-02T00:00:00Z,2025-06-01T00:00:00Z,3\nBEA-1,bea,,,\nADA-2,ada,,,0\n"
    assert import_codes("live", text) == 3
    ada1 = ReferralCode.objects.get(code="ADA-1")
    assert ada1.advocate.customer_id == "ada" and ada1.usage_limit == 3
    assert ada1.start_at == dt.datetime(2025, 5, 2, tzinfo=dt.UTC)
    assert ada1.expires_at == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert ReferralCode.objects.get(code="BEA-1").usage_limit == 1  # blank limitval: 1, as the reference
    assert ReferralCode.objects.get(code="ADA-2").usage_limit == 0  # unlimited
    assert Event.objects.filter(action="referral_code_create").count() == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code\nX-1\n", "advocateprofileintegrationid"),
        ("code,advocateprofileintegrationid,attributes\nAB-1,ada,{}\n", "Unknown column"),
        (HEADER + "AB-1,ada,,,\nno spaces,ada,,,\n", "Line 3"),
        (HEADER + "AB-1,ada,,,\nab-1,bea,,,\n", "Line 3: code 'ab-1' appears twice"),
        (HEADER + "AB-1,ada,yesterday,,\n", "Line 2: startdate"),
        (HEADER + "AB-1,ada,,,-4\n", "Line 2: limitval"),
        (HEADER + "AB-1,ada,,,\nAB-2,nobody,,,\n", "Line 3"),  # unknown advocate: the engine refuses
        (HEADER + "AB-1,ada,,2020-01-01,\n", "Line 2"),  # expired
        (HEADER, "no referral codes"),
        ("code,advocateprofileintegrationid\nA\x00B,ada\n", "NUL"),
    ],
)
def test_bad_files_import_nothing(module, text, message):
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as error:
        import_codes("live", text)
    assert message in error.value.message and error.value.field == "file"
    assert not ReferralCode.objects.exists()


def test_a_code_that_exists_rolls_back_the_whole_file(module):
    reg("referral_code_create", code="TAKEN-1")
    with pytest.raises(ValidationError) as error:
        import_codes("live", HEADER + "NEW-1,ada,,,\nTAKEN-1,bea,,,\n")
    assert error.value.message.startswith("Line 3")
    assert list(ReferralCode.objects.values_list("code", flat=True)) == ["TAKEN-1"]


def test_console_import_per_role(client, cast, module):
    url = reverse("referrals:import_codes")
    assert_page_access(client, cast, url, allowed=("administrator", "program_manager"))
    client.force_login(cast["program_manager"])
    upload = SimpleUploadedFile("codes.csv", (HEADER + "PM-1,ada,,,2\n").encode(), content_type="text/csv")
    response = client.post(url, {"file": upload, "reason": "spring campaign"})
    assert response.status_code == 302
    event = Event.objects.get(action="referral_code_create")
    assert event.reason == "spring campaign" and event.admin_user == cast["program_manager"]
    bad = SimpleUploadedFile("codes.csv", (HEADER + "PM-2,nobody,,,\n").encode(), content_type="text/csv")
    response = client.post(url, {"file": bad, "reason": "x"})
    assert response.status_code == 200 and "Line 2" in response.content.decode()


def test_api_import(client, module):
    from loyalty.api.keys import create_api_key

    key, secret = create_api_key(name="crm", environment="live")
    api = ApiClient(client, key, secret)
    response = api.request(
        "POST", "/api/referrals/import", body=HEADER + "API-1,bea,,,5\n", content_type="text/csv"
    )
    assert response.status_code == 201 and response.json() == {"imported": 1}
    assert ReferralCode.objects.get(code="API-1").usage_limit == 5
    response = api.request("POST", "/api/referrals/import", body="code\nX\n", content_type="text/csv")
    assert response.status_code == 400 and response.json()["error"]["field"] == "file"


# --- referral_bonus ---------------------------------------------------------------------------


def test_referral_bonus_rewards_the_advocate_of_the_friend(module):
    reg("referral_code_create", code="ADA-9", usage_limit=0)
    reg("opt_in", customer="fred", referral_code="ADA-9")
    referral = advocate_of(Customer.objects.get(customer_id="fred"))
    assert referral.advocate.customer_id == "ada"
    before = Customer.objects.get(customer_id="ada").spendable
    result = register_event(
        environment="live",
        customer=referral.advocate,
        action="referral_bonus",
        data={"points": 150, "friend": "fred"},
        source="automation",
    )
    assert Customer.objects.get(customer_id="ada").spendable == before + 150
    assert result.extra["referral_bonus"] == {"code": "ADA-9", "friend": "fred", "points": 150}
    assert advocate_of(Customer.objects.get(customer_id="bea")) is None  # nobody referred Bea


@pytest.mark.parametrize("friend", ["bea", "nobody", ""])
def test_referral_bonus_needs_a_friend_the_customer_referred(module, friend):
    before = Event.objects.count()
    with pytest.raises((NotFound, ValidationError)) as error:
        reg("referral_bonus", points=10, friend=friend)
    assert error.value.field == "data.friend"
    assert Event.objects.count() == before and Customer.objects.get(customer_id="ada").spendable == 0
