"""Lifecycle handlers: opt_in, profile, login, verify, suspend/unsuspend, ban/unban, and their refusals."""

import datetime as dt

import pytest
import time_machine

from customers.choices import CustomerStatus as S
from customers.models import Customer, CustomField, ExternalId, Label
from events.models import Event
from loyalty.errors import (
    Conflict,
    EngineError,
    MissingParameter,
    ReadOnlyAttribute,
    StatusForbids,
    UnknownAttribute,
    ValidationError,
)
from tests.factories import console, enroll, live, refused, register

pytestmark = pytest.mark.django_db


# opt_in ----------------------------------------------------------------------------------------


@time_machine.travel("2026-03-01T10:00:00Z", tick=False)
def test_opt_in_writes_attributes_and_sets_optin_at(program):
    enroll(
        "Anna-1",
        first_name="Anna",
        last_name="Smith",
        email="anna@example.com",
        birth_date="1990-05-06",
        gender="Female",
        currency="eur",
        labels=["vip", "newsletter"],
    )
    anna = live("Anna-1")
    assert anna.optin_at == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    assert anna.birth_date == dt.date(1990, 5, 6)
    assert (anna.gender, anna.currency) == ("female", "EUR")
    assert sorted(anna.labels.values_list("name", flat=True)) == ["newsletter", "vip"]


@pytest.mark.parametrize("status", [S.ACTIVE, S.PENDING, S.SUSPENDED])
def test_opting_in_again_is_refused_with_the_reference_code_and_changes_nothing(program, status):
    """Reference §8.4: a second opt-in of the same ID is 112101 "customer already opted in"."""
    enroll("Anna-1", first_name="Anna")
    Customer.objects.filter(customer_id="Anna-1").update(status=status)
    first = live("Anna-1").optin_at
    with pytest.raises(EngineError) as refused:
        enroll("Anna-1", first_name="Hanna")
    assert (refused.value.code, refused.value.status, refused.value.field) == (112101, 400, "customer")
    anna = live("Anna-1")
    assert (anna.first_name, anna.optin_at, anna.status) == ("Anna", first, status)


def test_an_inactive_customer_becomes_active_on_opt_in(program):
    register("profile", "Anna-1", {"first_name": "Anna"})
    assert live("Anna-1").status == S.INACTIVE and live("Anna-1").optin_at is None
    enroll("Anna-1")
    assert live("Anna-1").status == S.ACTIVE


def test_with_verification_opt_in_is_pending_until_verified(program):
    program.customer_verification = True
    program.save()
    enroll("Anna-1")
    assert live("Anna-1").status == S.PENDING
    register("verify", "Anna-1")
    assert live("Anna-1").status == S.ACTIVE
    result = register("verify", "Anna-1")  # a retried verification changes nothing
    assert result.status_after == S.ACTIVE and result.notes


def test_verify_is_refused_for_customers_who_never_opted_in(program):
    register("login", "Ghost-1")
    refused(StatusForbids, "customer", lambda: register("verify", "Ghost-1"))


def test_required_custom_fields_must_be_given_on_opt_in(program):
    CustomField.objects.create(name="store", label="Home store", required_on_opt_in=True)
    error = refused(MissingParameter, "data.store", lambda: register("opt_in", "Anna-1", {"first_name": "A"}))
    assert "store" in error.message
    enroll("Anna-1", store="Budapest")
    assert live("Anna-1").custom == {"store": "Budapest"}


def test_banned_customers_cannot_opt_in(program):
    enroll("Anna-1")
    console("ban", "Anna-1")
    refused(StatusForbids, "customer", lambda: register("opt_in", "Anna-1"))


# profile ---------------------------------------------------------------------------------------


def test_profile_updates_built_in_and_custom_attributes(program):
    CustomField.objects.create(name="favorite_color", label="Color", type="choice", choices=["red", "black"])
    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")
    CustomField.objects.create(name="newsletter", label="Newsletter", type="boolean")
    CustomField.objects.create(name="anniversary", label="Anniversary", type="date")
    enroll("Anna-1")
    register(
        "profile",
        "Anna-1",
        {
            "email": "a@example.com",
            "favorite_color": "black",
            "shoe_size": "38.5",
            "newsletter": "yes",
            "anniversary": "2020-02-02",
            "city": "Szeged",
        },
    )
    anna = live("Anna-1")
    assert anna.email == "a@example.com" and anna.city == "Szeged"
    assert anna.custom == {
        "favorite_color": "black",
        "shoe_size": 38.5,
        "newsletter": True,
        "anniversary": "2020-02-02",
    }


def test_empty_values_clear_attributes(program):
    CustomField.objects.create(name="nick", label="Nick")
    enroll("Anna-1", email="a@example.com", nick="annie", birth_date="1990-01-01")
    register("profile", "Anna-1", {"email": "", "nick": None, "birth_date": ""})
    anna = live("Anna-1")
    assert (anna.email, anna.custom, anna.birth_date) == ("", {}, None)


@pytest.mark.parametrize("name", ["score", "spendable", "status", "tier", "optin_at", "last_login_at", "_id"])
def test_read_only_built_in_attributes_are_refused(program, name):
    enroll("Anna-1")
    error = refused(ReadOnlyAttribute, f"data.{name}", lambda: register("profile", "Anna-1", {name: 1000}))
    assert name in error.message
    assert live("Anna-1").score == 0


def test_read_only_custom_attributes_are_refused(program):
    CustomField.objects.create(name="member_since", label="Member since", read_only=True)
    enroll("Anna-1")
    refused(
        ReadOnlyAttribute, "data.member_since", lambda: register("profile", "Anna-1", {"member_since": "x"})
    )


def test_unknown_attributes_are_refused_naming_them(program):
    enroll("Anna-1")
    error = refused(
        UnknownAttribute,
        "data.favourite_colour",
        lambda: register("profile", "Anna-1", {"first_name": "A", "favourite_colour": "red", "shoesize": 3}),
    )
    assert "favourite_colour" in error.message and "shoesize" in error.message
    assert live("Anna-1").first_name == ""


@pytest.mark.parametrize(
    "data, field",
    [
        ({"email": "not-an-email"}, "data.email"),
        ({"first_name": "x" * 201}, "data.first_name"),
        ({"birth_date": "2999-01-01"}, "data.birth_date"),
        ({"gender": "robot"}, "data.gender"),
        ({"currency": "EURO"}, "data.currency"),
        ({"first_name": {"nested": "object"}}, "data.first_name"),
        ({"labels": [""]}, "data.labels"),
    ],
)
def test_invalid_built_in_values_are_refused(program, data, field):
    enroll("Anna-1")
    refused(ValidationError, field, lambda: register("profile", "Anna-1", data))


@pytest.mark.parametrize(
    "field_kwargs, value",
    [
        ({"type": "number"}, "twelve"),
        ({"type": "boolean"}, "maybe"),
        ({"type": "date"}, "31/12/2020"),
        ({"type": "choice", "choices": ["red", "black"]}, "green"),
        ({"type": "string", "regex": r"[A-Z]{2}\d{4}"}, "ab1234"),
    ],
)
def test_invalid_custom_values_are_refused(program, field_kwargs, value):
    CustomField.objects.create(name="extra", label="Extra", **field_kwargs)
    enroll("Anna-1")
    refused(ValidationError, "data.extra", lambda: register("profile", "Anna-1", {"extra": value}))
    assert live("Anna-1").custom == {}


def test_labels_replace_the_customers_labels_and_create_unknown_ones(program):
    Label.objects.create(name="vip")
    enroll("Anna-1", labels=["vip", "early"])
    register("profile", "Anna-1", {"labels": "early, gold"})
    assert sorted(live("Anna-1").labels.values_list("name", flat=True)) == ["early", "gold"]
    assert Label.objects.count() == 3


def test_referrer_names_another_customer(program):
    enroll("Bob-1")
    enroll("Anna-1", referrer="Bob-1")
    assert live("Anna-1").referrer == live("Bob-1")
    refused(ValidationError, "data.referrer", lambda: register("profile", "Anna-1", {"referrer": "Nobody-1"}))
    refused(ValidationError, "data.referrer", lambda: register("profile", "Anna-1", {"referrer": "Anna-1"}))


def test_external_ids_are_unique_per_environment(program):
    CustomField.objects.create(name="barcode", label="Barcode", external_id=True)
    enroll("Anna-1", barcode="B-1")
    enroll("Bob-1")
    refused(Conflict, "data.barcode", lambda: register("profile", "Bob-1", {"barcode": "B-1"}))
    register("opt_in", "Bob-1", {"barcode": "B-1"}, environment="sandbox")
    assert ExternalId.objects.filter(value="B-1").count() == 2
    register("profile", "Anna-1", {"barcode": ""})
    register("profile", "Bob-1", {"barcode": "B-1"})
    assert ExternalId.objects.get(environment="live", value="B-1").customer == live("Bob-1")


# login, suspend, ban ---------------------------------------------------------------------------


def test_login_records_the_time(program):
    enroll("Anna-1")
    with time_machine.travel("2026-05-05T05:05:05Z", tick=False):
        register("login", "Anna-1")
    assert live("Anna-1").last_login_at == dt.datetime(2026, 5, 5, 5, 5, 5, tzinfo=dt.UTC)


def test_suspend_and_unsuspend(program):
    enroll("Anna-1")
    register("suspend", "Anna-1", {"reason": "odd orders"})
    anna = live("Anna-1")
    assert anna.status == S.SUSPENDED and anna.can_earn and not anna.can_spend and not anna.can_claim
    refused(Conflict, "customer", lambda: register("suspend", "Anna-1"))
    register("unsuspend", "Anna-1")
    assert live("Anna-1").status == S.ACTIVE and live("Anna-1").can_spend
    refused(Conflict, "customer", lambda: register("unsuspend", "Anna-1"))


def test_inactive_customers_cannot_be_suspended(program):
    register("login", "Ghost-1")
    refused(StatusForbids, "customer", lambda: register("suspend", "Ghost-1"))


def test_ban_and_unban_from_the_console(program):
    enroll("Anna-1")
    register("suspend", "Anna-1")
    console("ban", "Anna-1", reason="fraud")
    anna = live("Anna-1")
    assert anna.status == S.BANNED and not anna.can_earn and not anna.can_spend
    refused(Conflict, "customer", lambda: console("ban", "Anna-1"))
    refused(StatusForbids, "customer", lambda: register("unsuspend", "Anna-1"))
    refused(StatusForbids, "customer", lambda: register("suspend", "Anna-1"))
    console("unban", "Anna-1", reason="cleared")
    assert live("Anna-1").status == S.ACTIVE
    refused(Conflict, "customer", lambda: console("unban", "Anna-1"))


def test_unbanning_a_never_enrolled_customer_makes_it_inactive_again(program):
    register("login", "Ghost-1")
    console("ban", "Ghost-1")
    console("unban", "Ghost-1")
    assert live("Ghost-1").status == S.INACTIVE


def test_status_rules_on_the_model():
    rules = {
        status: (Customer(status=status).can_earn, Customer(status=status).can_spend) for status in S.values
    }
    assert rules == {
        "inactive": (True, True),
        "pending": (True, True),
        "active": (True, True),
        "suspended": (True, False),
        "opted_out": (False, False),
        "banned": (False, False),
    }


def test_console_events_record_the_admin_user(program, admin_user):
    enroll("Anna-1")
    console("suspend", "Anna-1", admin_user=admin_user, reason="chargebacks")
    event = Event.objects.get(action="suspend")
    assert (event.admin_user, event.source, event.reason) == (admin_user, "platform", "chargebacks")


def test_tagging_a_field_external_id_indexes_existing_values(program):
    field = CustomField.objects.create(name="loyalty_card", label="Card")
    enroll("Anna-1", loyalty_card="CARD-1")
    enroll("Bob-1", loyalty_card="CARD-2")
    field.external_id = True
    field.save()
    assert register("profile", "loyalty_card:CARD-2", {"first_name": "Bob"}).customer == live("Bob-1")
    assert ExternalId.objects.filter(field="loyalty_card").count() == 2
