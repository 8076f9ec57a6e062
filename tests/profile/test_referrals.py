"""Referral codes and referrals (referrals.referrals) through the engine."""

import datetime as dt

import pytest
import time_machine

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError, Conflict, NotFound, ValidationError
from loyalty.models import Program
from referrals.models import Referral, ReferralCode, ReferralSettings
from tests.transactions.helpers import rule

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)


def reg(action, customer="ada", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


def customer(cid):
    return Customer.objects.get(customer_id=cid)


@pytest.fixture
def module(program):
    with time_machine.travel(NOW, tick=False):
        program = Program.objects.get(pk=program.pk)
        program.referrals = True
        program.save()
        settings = ReferralSettings.current()
        settings.advocate_points = 100
        settings.friend_points = 25
        settings.code_prefix = "REF-"
        settings.save()
        reg("opt_in")
        yield program


def test_create_code_with_the_configured_format(module):
    result = reg("referral_code_create")
    code = result.extra["referral_code"]
    assert code.startswith("REF-") and len(code) == 12
    row = ReferralCode.objects.get(code=code)
    assert row.advocate.customer_id == "ada" and row.usage_limit == 1 and row.expires_at is None


def test_redeem_at_opt_in_rewards_both(module, django_capture_on_commit_callbacks):
    reg("referral_code_create", code="ADA-1")
    with django_capture_on_commit_callbacks(execute=True):
        result = reg("opt_in", customer="fred", referral_code="ADA-1")
    assert result.extra["referral"] == {"code": "ADA-1", "advocate": "ada"}
    fred, ada = customer("fred"), customer("ada")
    assert fred.spendable == 25 and fred.referrer_id == ada.pk
    # The advocate's reward: its own event, registered on commit (django-q2 runs inline in tests).
    assert ada.spendable == 100
    reward = Event.objects.get(action="referral_reward")
    assert reward.customer_id == ada.pk and reward.data["friend"] == "fred"
    assert Referral.objects.get().advocate_rewarded
    assert ReferralCode.objects.get(code="ADA-1").usage_counter == 1
    # The task is idempotent: running it again credits nothing more.
    from referrals.tasks import reward_advocate

    reward_advocate(Referral.objects.get().pk)
    assert customer("ada").spendable == 100


def test_redeem_on_first_checkout_only(module):
    rule()
    reg("referral_code_create", code="ADA-1", usage_limit=0)
    reg("opt_in", customer="fred")
    reg("opt_in", customer="gina")
    reg("checkout", customer="fred", transaction_id="T-1", total=10, referral_code="ADA-1")
    assert Referral.objects.get(friend__customer_id="fred").transaction_id == "T-1"
    reg("checkout", customer="gina", transaction_id="T-2", total=10)
    result = reg("checkout", customer="gina", transaction_id="T-3", total=10, referral_code="ADA-1")
    assert "first purchase only" in result.notes[0]
    assert not Referral.objects.filter(friend__customer_id="gina").exists()


@pytest.mark.parametrize(
    ("setup", "data", "error"),
    [
        ({}, {"code": "NOPE-1"}, NotFound),
        ({}, {"code": "bad code!"}, ValidationError),
        ({"start_date": "2025-06-01T00:00:00Z"}, {"code": "ADA-1"}, BusinessRuleError),
    ],
)
def test_refusals(module, setup, data, error):
    reg("referral_code_create", code="ADA-1", **setup)
    reg("opt_in", customer="fred")
    with pytest.raises(error):
        reg("referral_redeem", customer="fred", **data)
    assert not Referral.objects.exists() and customer("fred").spendable == 0


def test_expired_used_up_own_and_twice(module):
    reg("referral_code_create", code="ADA-1", expiry_date="2025-05-02T00:00:00Z")
    reg("opt_in", customer="fred")
    reg("opt_in", customer="gina")
    with pytest.raises(BusinessRuleError):  # own code
        reg("referral_redeem", customer="ada", code="ADA-1")
    reg("referral_redeem", customer="fred", code="ADA-1")
    with pytest.raises(BusinessRuleError) as used_up:
        reg("referral_redeem", customer="gina", code="ADA-1")
    assert "used up" in used_up.value.message
    reg("referral_code_create", code="ADA-2", usage_limit=0)
    with pytest.raises(Conflict):  # a friend is referred once
        reg("referral_redeem", customer="fred", code="ADA-2")
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        reg("referral_code_create", code="ADA-3", expiry_date="2025-05-03T13:00:00Z")
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        with pytest.raises(BusinessRuleError) as expired:
            reg("referral_redeem", customer="gina", code="ADA-3")
    assert "expired" in expired.value.message


@pytest.mark.parametrize(
    "data",
    [
        {"code": "a b"},
        {"code": "x" * 65},
        {"usage_limit": -1},
        {"usage_limit": 10**9},
        {"expiry_date": "2020-01-01T00:00:00Z"},
        {"start_date": "2025-07-01T00:00:00Z", "expiry_date": "2025-06-01T00:00:00Z"},
    ],
)
def test_bad_codes_are_refused(module, data):
    with pytest.raises(ValidationError):
        reg("referral_code_create", **data)
    assert not ReferralCode.objects.exists()


def test_duplicate_code(module):
    reg("referral_code_create", code="ADA-1")
    with pytest.raises(Conflict):
        reg("referral_code_create", code="ADA-1")


def test_module_off(module):
    reg("referral_code_create", code="ADA-1")
    module.referrals = False
    module.save()
    with pytest.raises(ValidationError):
        reg("opt_in", customer="fred", referral_code="ADA-1")
    assert ReferralCode.objects.count() == 1
