"""Limits of the Talon.One profile features under concurrency, on PostgreSQL (real threads,
connections and row locks): a referral code's usage limit, a card's users-per-card limit,
a transfer racing with a registration."""

import pytest
from django.db import connection

from cards import cards
from cards.models import CardRegistration, CardSettings
from events.engine import register_event
from loyalty.errors import BusinessRuleError, Conflict
from loyalty.models import Program
from referrals.models import Referral, ReferralCode
from tests.loyalty.test_ledger_concurrency import run_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _switch(**modules):
    program = Program.objects.get_or_create()[0]
    for name, value in modules.items():
        setattr(program, name, value)
    program.save()


@pytest.mark.django_db(transaction=True)
def test_a_code_redeemed_at_once_by_many_friends_stays_within_its_limit():
    _switch(referrals=True)
    register_event(environment="live", customer="ada", action="opt_in", data={})
    register_event(
        environment="live",
        customer="ada",
        action="referral_code_create",
        data={"code": "ADA-1", "usage_limit": 5},
    )
    friends = 32
    for i in range(friends):
        register_event(environment="live", customer=f"f{i}", action="opt_in", data={})

    def redeem(index):
        return register_event(
            environment="live", customer=f"f{index}", action="referral_redeem", data={"code": "ADA-1"}
        )

    results = run_at_once(friends, redeem)
    refused = [r for r in results if isinstance(r, BusinessRuleError)]
    assert len(refused) == friends - 5, [r for r in results if isinstance(r, Exception) and r not in refused]
    assert Referral.objects.count() == 5 and ReferralCode.objects.get().usage_counter == 5


@pytest.mark.django_db(transaction=True)
def test_one_friend_redeeming_twice_at_once_is_referred_once():
    _switch(referrals=True)
    register_event(environment="live", customer="ada", action="opt_in", data={})
    for code in ("A-1", "A-2"):
        register_event(
            environment="live",
            customer="ada",
            action="referral_code_create",
            data={"code": code, "usage_limit": 0},
        )
    register_event(environment="live", customer="fred", action="opt_in", data={})

    def redeem(index):
        code = "A-1" if index % 2 else "A-2"
        return register_event(
            environment="live", customer="fred", action="referral_redeem", data={"code": code}
        )

    results = run_at_once(8, redeem)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert Referral.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_many_customers_registering_one_card_at_once_respect_the_limit():
    _switch(loyalty_cards=True)
    settings = CardSettings.current()
    settings.users_per_card_limit = 3
    settings.save()
    cards.create_card("live", "SHARED")
    people = 24
    for i in range(people):
        register_event(environment="live", customer=f"c{i}", action="opt_in", data={})

    def link(index):
        return register_event(
            environment="live", customer=f"c{index}", action="card_register", data={"card": "SHARED"}
        )

    results = run_at_once(people, link)
    assert sum(isinstance(r, BusinessRuleError) for r in results) == people - 3
    assert CardRegistration.objects.count() == 3
