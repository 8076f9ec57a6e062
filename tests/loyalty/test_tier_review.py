"""Issue 13 §4: tiers change with time, not only with earning (loyalty.tasks.review_tiers)."""

import datetime as dt

import pytest
import time_machine

from coupons.models import Reward
from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError
from loyalty.ledger.accounts import default_account
from loyalty.models import CustomerTier, Tier, TierStructure
from loyalty.tasks import review_tiers
from loyalty.tiers import api_tiers

START = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def structure(program):
    structure = TierStructure.objects.create(
        code="basic", name="Basic", qualification_months=12, tier_validity_months=12
    )
    for code, threshold in (("bronze", 0), ("silver", 100), ("gold", 500)):
        Tier.objects.create(structure=structure, code=code, name=code.title(), threshold=threshold)
    return structure


def reg(action, customer="tia", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


def row(customer="tia"):
    return CustomerTier.objects.select_related("tier").get(customer__customer_id=customer)


def test_the_manual_example_the_lock_ends_and_the_tier_goes_down(structure):
    gold = Tier.objects.get(code="gold")
    reward = Reward.objects.create(name="Gold lounge", points=0, account=default_account())
    reward.eligible_tiers.add(gold)
    with time_machine.travel(START, tick=False) as clock:
        reg("opt_in")
        reg("point_add", points=50)
        reg("tier_change", structure="basic", tier="gold", expiration_date="2026-01-15")
        assert (row().tier.code, row().locked) == ("gold", True)
        clock.move_to(START + dt.timedelta(days=400))
        # only login and point_spend meanwhile: the next event already sees the ended tier
        reg("login")
        assert row().tier.code == "bronze" and not row().locked
        with pytest.raises(BusinessRuleError):
            reg("reward", reward=str(reward.pk))
        assert review_tiers()["changed"] == 0  # nothing left to do
    down = Event.objects.get(action="tier_down")
    assert down.data["previous_tier"] == "gold" and "expired" in down.data["reason"]
    assert api_tiers(Customer.objects.get(customer_id="tia"))[0]["id"] == "bronze"


def test_the_hourly_review_downgrades_without_any_event(structure):
    with time_machine.travel(START, tick=False) as clock:
        reg("tier_change", structure="basic", tier="gold", expiration_date="2026-01-15")
        clock.move_to(START + dt.timedelta(days=400))
        counts = review_tiers()
        assert counts["changed"] == 1
        assert row().tier.code == "bronze" and not row().locked
        review = Event.objects.get(action="tier_review")
        assert review.source == "automation" and "expired" in review.reason
        down = Event.objects.get(action="tier_down")
        assert down.parent_id == review.pk and down.source == "automation"
        assert row().expires_at > clock_now(clock)
        assert review_tiers()["changed"] == 0  # twice: the same customer is never changed twice
        assert Event.objects.filter(action="tier_down").count() == 1


def clock_now(_clock):
    from loyalty import clock

    return clock.now()


def test_the_automatic_example_points_leave_the_window(structure):
    with time_machine.travel(START, tick=False) as clock:
        reg("point_add", points=600)
        assert row().tier.code == "gold" and row().tier_points == 600
        assert row().points_after_expiration == 600
        clock.move_to(START + dt.timedelta(days=800))
        review_tiers()
        reg("login")
        assert row().tier.code == "bronze"
        assert row().tier_points == 0 and row().points_after_expiration == 0
    assert [e.data["tier"] for e in Event.objects.filter(action="tier_down")] == ["bronze"]


def test_qualifying_points_leaving_the_window_update_the_figures(structure):
    structure.tier_validity_months = None  # downgrade at once
    structure.save()
    with time_machine.travel(START, tick=False) as clock:
        reg("point_add", points=150)
        assert row().tier.code == "silver"
        clock.move_to(START + dt.timedelta(days=200))
        reg("point_add", points=10)
        clock.move_to(START + dt.timedelta(days=366))  # the 150 left the 12-month window
        assert review_tiers()["changed"] == 1
        assert row().tier.code == "bronze" and row().tier_points == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reviews_change_a_customer_once(structure):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    with time_machine.travel(START, tick=False) as clock:
        reg("tier_change", structure="basic", tier="gold", expiration_date="2026-01-15")
        clock.move_to(START + dt.timedelta(days=400))
        results = []

        def run():
            try:
                results.append(review_tiers())
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(r["changed"] for r in results) == 1
    assert Event.objects.filter(action="tier_down").count() == 1
