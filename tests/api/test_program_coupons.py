"""`GET /api/coupons` (the reference's Coupons API): coupons independent of customers, with at
least one criterion (160311 otherwise); and the status filters agree with the status shown — a
held coupon past its date is `expired` before the expiry task stores it (every coupon filter)."""

import datetime as dt

import pytest
import time_machine

from coupons.models import Coupon, CouponPool
from coupons.pools import import_codes
from events.engine import register_event
from tests.factories import enroll

pytestmark = pytest.mark.django_db
START = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def coupons(program):
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10, currency="EUR")
    import_codes(pool, "TEN-1\nTEN-2\nTEN-3\n")
    with time_machine.travel(START, tick=False):
        enroll()
        register_event(
            environment="live",
            customer="Anna-1",
            action="coupon_assign",
            data={"code": "TEN-1"},
        )
        register_event(
            environment="live",
            customer="Anna-1",
            action="coupon_expiration_change",
            data={"code": "TEN-1", "expiration_date": "2025-05-10"},
        )
        register_event(environment="live", customer="Anna-1", action="coupon_assign", data={"code": "TEN-2"})
    enroll("Sandy", environment="sandbox")
    return pool


def codes(response):
    assert response.status_code == 200, response.content
    return [c["code"] for c in response.json()["data"]]


def test_query_by_code_status_pool_and_customer(api, coupons):
    with time_machine.travel(START, tick=False):
        assert codes(api.get("/api/coupons?code=ten-1")) == ["TEN-1"]
        assert codes(api.get("/api/coupons?status=claimed")) == ["TEN-1", "TEN-2"]
        assert codes(api.get("/api/coupons?status=unassigned")) == ["TEN-3"]
        assert codes(api.get(f"/api/coupons?pool={coupons.pk}&limit=2")) == ["TEN-1", "TEN-2"]
        assert codes(api.get("/api/coupons?customer=Anna-1")) == ["TEN-1", "TEN-2"]
        first = api.get("/api/coupons?code=TEN-1").json()["data"][0]
        assert first["name"] == "Ten off" and first["customer"] == {"id": "Anna-1"}
        assert first["type"] == "amount" and first["value"] == 10 and first["currency"] == "EUR"


def test_paging_by_page(api, coupons):
    body = api.get(f"/api/coupons?pool={coupons.pk}&limit=2").json()
    assert body["next"] and "page=1" in body["next"]
    assert codes(api.get(f"/api/coupons?pool={coupons.pk}&limit=2&page=1")) == ["TEN-3"]
    assert api.get(f"/api/coupons?pool={coupons.pk}&limit=2&page=1").json()["next"] is None


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("", 160311, None),
        ("?limit=10", 160311, None),
        ("?status=bogus", 113400, "status"),
        ("?colour=red", 113400, "colour"),
        ("?code=%00", 113400, "code"),
        ("?code=x&page=-1", 113400, "page"),
    ],
)
def test_bad_or_empty_criteria(api, coupons, query, code, field):
    response = api.get(f"/api/coupons{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_the_status_filter_agrees_with_the_status_shown_before_the_expiry_task(api, coupons):
    with time_machine.travel(dt.datetime(2025, 5, 12, tzinfo=dt.UTC), tick=False):
        assert Coupon.objects.get(code="TEN-1").status == "claimed"  # the task has not run
        for path in ("/api/coupons?", "/api/customers/Anna-1/coupons?"):
            expired = api.get(path + "status=expired").json()["data"]
            assert [(c["code"], c["status"]) for c in expired] == [("TEN-1", "expired")], path
            claimed = api.get(path + "status=claimed").json()["data"]
            assert [(c["code"], c["status"]) for c in claimed] == [("TEN-2", "claimed")], path


def test_a_sandbox_holders_coupons_are_not_listed_to_a_live_key(api, coupons):
    register_event(environment="sandbox", customer="Sandy", action="coupon_assign", data={"code": "TEN-3"})
    assert codes(api.get(f"/api/coupons?pool={coupons.pk}")) == ["TEN-1", "TEN-2"]


@pytest.mark.parametrize("pool", ["-9.8e+241", "1.5", "abc", "9" * 19])
def test_a_pool_that_is_not_an_id_is_a_400(api, coupons, pool):
    response = api.get(f"/api/coupons?pool={pool.replace('+', '%2B')}")
    assert response.status_code == 400 and response.json()["error"]["field"] == "pool"
