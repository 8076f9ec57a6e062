"""Issue 13 §8: the sandbox's test clock, through the API and the console; live never affected."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from coupons.models import Coupon, CouponPool
from coupons.pools import import_codes
from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty import clock
from loyalty.console.middleware import SESSION_KEY
from loyalty.models import CustomerTier, PointAccount, Tier, TierStructure

from .conftest import error_of

NOW = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def six_months(program):
    PointAccount.objects.get_or_create(code="points", defaults={"name": "Points", "is_default": True})
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period", expiration_period=6, expiration_unit="months"
    )


def _points(api, customer):
    body = api.get(f"/api/customers/{customer}").json()
    return body["spendable"], body.get("score")


def test_the_docs_example_advancing_a_year_expires_sandbox_points_only(frozen, six_months, api, sandbox_api):
    for client in (api, sandbox_api):
        assert client.post("/api/events", {"customer": "c-1", "action": "opt_in"}).status_code == 200
        response = client.post(
            "/api/events", {"customer": "c-1", "action": "point_add", "data": {"points": 100}}
        )
        assert response.status_code == 200, response.content
    response = sandbox_api.post("/api/sandbox/clock", {"days": 365})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["now"] == (NOW + dt.timedelta(days=365)).isoformat()
    assert body["offset_seconds"] == 365 * 86400
    assert body["work"]["points"]["expired_lots"] == 1
    sandbox = Customer.objects.get(environment="sandbox", customer_id="c-1")
    live = Customer.objects.get(environment="live", customer_id="c-1")
    assert (sandbox.spendable, sandbox.expired) == (0, 100)
    assert (live.spendable, live.expired) == (100, 0)  # live is never affected
    expired = Event.objects.get(action="point_expire")
    assert expired.customer_id == sandbox.pk and expired.timestamp == NOW + dt.timedelta(days=365)
    assert sandbox_api.get("/api/sandbox/clock").json()["now"] == body["now"]


def test_sandbox_events_take_their_time_from_the_clock(frozen, program, sandbox_api):
    sandbox_api.post("/api/sandbox/clock", {"to": "2025-06-01T00:00:00Z"})
    sandbox = register_event(environment="sandbox", customer="t-1", action="opt_in").event
    live = register_event(environment="live", customer="t-1", action="opt_in").event
    assert sandbox.timestamp == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert live.timestamp == NOW
    assert clock.now("live") == clock.now() == NOW


def test_the_clock_never_moves_backwards_and_stays_in_bounds(frozen, program, sandbox_api):
    assert sandbox_api.post("/api/sandbox/clock", {"days": 10}).status_code == 200
    back = sandbox_api.post("/api/sandbox/clock", {"to": "2025-05-05T00:00:00Z"})
    assert back.status_code == 400 and error_of(back)["field"] == "to"
    for body, field in (
        ({"days": 0}, "days"),
        ({"days": -3}, "days"),
        ({"to": "9999-01-01"}, "to"),
        ({}, "to"),
    ):
        response = sandbox_api.post("/api/sandbox/clock", body)
        assert response.status_code == 400, body
        assert error_of(response)["field"] == field
    assert sandbox_api.get("/api/sandbox/clock").json()["offset_seconds"] == 10 * 86400


def test_live_keys_have_no_test_clock(frozen, program, api):
    for response in (api.get("/api/sandbox/clock"), api.post("/api/sandbox/clock", {"days": 1})):
        assert response.status_code == 403
        assert error_of(response)["code"] == 140302
    assert clock.now("sandbox") == NOW


def test_advancing_runs_tier_reviews_and_coupon_expiry_for_the_sandbox(frozen, program, sandbox_api):
    structure = TierStructure.objects.create(
        code="s", name="S", qualification_months=12, tier_validity_months=12
    )
    for code, threshold in (("bronze", 0), ("gold", 500)):
        Tier.objects.create(structure=structure, code=code, name=code, threshold=threshold)
    pool = CouponPool.objects.create(name="P", type="amount", value=5, validity_days=30)
    import_codes(pool, "SB-1\nLV-1\n")
    for environment, code in (("sandbox", "SB-1"), ("live", "LV-1")):
        register_event(environment=environment, customer="g-1", action="point_add", data={"points": 600})
        register_event(environment=environment, customer="g-1", action="coupon_assign", data={"code": code})
    response = sandbox_api.post("/api/sandbox/clock", {"days": 800})
    assert response.status_code == 200, response.content
    work = response.json()["work"]
    assert work["tiers"]["changed"] == 1 and work["coupons_expired"] == 1
    tiers = dict(CustomerTier.objects.values_list("customer__environment", "tier__code"))
    assert tiers == {"sandbox": "bronze", "live": "gold"}
    assert dict(Coupon.objects.values_list("code", "status")) == {"SB-1": "expired", "LV-1": "claimed"}


def test_the_console_page_shows_and_advances_the_sandbox_clock(frozen, program, admin_client):
    url = reverse("sandbox_clock")
    page = admin_client.get(url)
    assert page.status_code == 200 and b"Switch to the sandbox" in page.content
    assert admin_client.post(url, {"days": 5}).status_code == 403  # never in live
    session = admin_client.session
    session[SESSION_KEY] = "sandbox"
    session.save()
    response = admin_client.post(url, {"days": 5})
    assert response.status_code == 302
    assert clock.now("sandbox") == NOW + dt.timedelta(days=5)
    refused = admin_client.post(url, {"to": "2025-05-02T00:00"})
    assert refused.status_code == 200 and b"only moves forward" in refused.content
    assert clock.now("sandbox") == NOW + dt.timedelta(days=5)
