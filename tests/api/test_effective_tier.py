"""Tiers agree at every moment: between an expiry (or a lock's end, or points leaving the
window) and the hourly review, every reader — the Customer API, the console's header, overview,
list column and tier filter, segment conditions and rewards restricted to tiers — shows the tier
the review is about to store (loyalty.tiers.effective_rows / effective_tier_customers)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from coupons.models import Reward
from coupons.rewards import claimable
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from events.engine import register_event
from loyalty.ledger.accounts import default_account
from loyalty.models import CustomerTier, Tier, TierStructure
from loyalty.models.tiers import TierExpirationMethod
from loyalty.tasks import review_tiers
from loyalty.tiers import effective_rows
from segments.conditions import Condition, compile_conditions, make_context

START = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def make_structure(code="basic", qualification=12, validity=12, method=TierExpirationMethod.RECALCULATE):
    structure = TierStructure.objects.create(
        code=code,
        name=code.title(),
        qualification_months=qualification,
        tier_validity_months=validity,
        expiration_method=method,
    )
    for tier, threshold in (("bronze", 0), ("silver", 100), ("gold", 500)):
        Tier.objects.create(structure=structure, code=tier, name=tier.title(), threshold=threshold)
    return structure


def reg(action, customer="tia", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


class FakeRequest:
    environment = "live"


def readers(api, client, customer_id="tia", structure="basic") -> dict[str, str]:
    """The tier code each reader shows for the customer in `structure` (the first structure)."""
    client.force_login(User.objects.get(username="administrator"))  # the clock moved past the session
    customer = Customer.objects.get(customer_id=customer_id)
    body = api.get(f"/api/customers/{customer_id}").json()
    api_tier = next(t["id"] for t in body["tiers"] if t["structure"][0]["id"] == structure)
    header = client.get(f"/customers/{customer_id}/").content.decode()
    header_tier = header.split('data-testid="customer-tier">')[1].split("<")[0]
    listing = client.get("/customers/?columns=customer_id,tier").content.decode()
    row = listing.split(f">{customer_id}<")[1].split("</tr>")[0]
    list_tier = next(t.code for t in Tier.objects.filter(structure__code=structure) if f">{t.name}<" in row)
    tiers = Tier.objects.filter(structure__code=structure)
    by_filter = [
        t.code
        for t in tiers
        if CustomerFilterSet(
            {"tier": t.pk}, queryset=Customer.objects.filter(customer_id=customer_id), request=FakeRequest()
        ).qs.exists()
    ]
    by_segment = [
        t.code
        for t in tiers
        if Customer.objects.filter(customer_id=customer_id)
        .filter(compile_conditions([Condition(f"tier.{structure}", "eq", t.code)], ctx=make_context()))
        .exists()
    ]
    any_structure = [
        t.code
        for t in tiers
        if Customer.objects.filter(customer_id=customer_id)
        .filter(compile_conditions([Condition("tier", "eq", t.code)], ctx=make_context()))
        .exists()
    ]
    return {
        "api": api_tier,
        "header": next(t.code for t in tiers if t.name == header_tier),
        "list": list_tier,
        "filter": ",".join(by_filter),
        "segment": ",".join(by_segment),
        "any structure": ",".join(any_structure),
        "effective": effective_rows(customer, _now())[TierStructure.objects.get(code=structure).pk].tier.code,
    }


def _now():
    from loyalty import clock

    return clock.now()


def test_the_manual_example_every_reader_shows_bronze_before_the_hourly_review(api, admin_client):
    make_structure()
    gold = Tier.objects.get(code="gold")
    reward = Reward.objects.create(name="Gold lounge", points=0, account=default_account())
    reward.eligible_tiers.add(gold)
    with time_machine.travel(START, tick=False) as clock:
        reg("opt_in")
        reg("tier_change", structure="basic", tier="gold", expiration_date="2026-01-15")
        assert set(readers(api, admin_client).values()) == {"gold"}
        assert reward in claimable(Customer.objects.get(customer_id="tia"), _now())
        clock.move_to(START + dt.timedelta(days=400))
        # no event, no review yet: the stored row still says gold, every reader says bronze
        assert CustomerTier.objects.get().tier.code == "gold"
        assert set(readers(api, admin_client).values()) == {"bronze"}
        assert reward not in claimable(Customer.objects.get(customer_id="tia"), _now())
        body = api.get("/api/customers/tia").json()
        assert body["tiers"][0]["expdate"] > (START + dt.timedelta(days=400)).isoformat()
        assert review_tiers()["changed"] == 1
        assert CustomerTier.objects.get().tier.code == "bronze"
        assert set(readers(api, admin_client).values()) == {"bronze"}


def test_the_automatic_example_points_left_the_window(api, admin_client):
    make_structure()
    with time_machine.travel(START, tick=False) as clock:
        reg("opt_in")
        reg("point_add", points=600)
        assert set(readers(api, admin_client).values()) == {"gold"}
        clock.move_to(START + dt.timedelta(days=800))
        assert set(readers(api, admin_client).values()) == {"bronze"}
        assert api.get("/api/customers/tia").json()["tiers"][0]["points"] == 0


SCENARIOS = {
    # (structure options, events at START, days to look at)
    "manual lock with validity": (
        {},
        [("point_add", {"points": 150}), ("tier_change", {"structure": "basic", "tier": "gold"})],
    ),
    "earned gold with validity": ({}, [("point_add", {"points": 600})]),
    "no validity, points leave the window": ({"validity": None}, [("point_add", {"points": 600})]),
    "keep highest": ({"method": TierExpirationMethod.KEEP_HIGHEST}, [("point_add", {"points": 600})]),
    "lifetime qualification": ({"qualification": None}, [("point_add", {"points": 150})]),
    "two earnings at different times": ({}, [("point_add", {"points": 300}), ("later", {"points": 300})]),
}


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("days", [100, 364, 366, 400, 500, 731, 800])
def test_before_the_review_every_reader_shows_what_the_review_then_stores(api, admin_client, name, days):
    """The generalisation: at any moment, what readers show before the hourly review equals what
    the review stores, for every kind of structure and change."""
    options, events = SCENARIOS[name]
    make_structure(**options)
    with time_machine.travel(START, tick=False) as clock:
        reg("opt_in")
        for action, data in events:
            if action == "later":
                clock.move_to(START + dt.timedelta(days=200))
                action = "point_add"
            reg(action, **data)
        clock.move_to(START + dt.timedelta(days=days))
        before = readers(api, admin_client)
        assert len(set(before.values())) == 1, before  # every reader agrees
        review_tiers()
        stored = CustomerTier.objects.select_related("tier").get()
        assert stored.tier.code == before["api"]
        assert readers(api, admin_client) == before
        assert api.get("/api/customers/tia").json()["tiers"][0]["points"] == stored.tier_points
