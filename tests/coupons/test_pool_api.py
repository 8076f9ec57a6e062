"""The Coupon Pools API (`POST /api/v1/coupon-pools`, `POST /api/v1/coupon-pools/{id}/update`): the
reference's request and response shapes (api-evangelist/antavo openapi/antavo-coupon-pools-openapi.yml),
its validation codes, `update_method` / `update_matching` on existing coupons, and the change log."""

from decimal import Decimal

import pytest

from coupons.models import Coupon, CouponPool
from coupons.pools import import_codes
from loyalty.audit.models import ChangeLogEntry
from tests.factories import enroll, register

pytestmark = pytest.mark.django_db
BASE = "/api/v1/coupon-pools"
REFERENCE_EXAMPLE = {
    "external_id": "uniqueExternalID",
    "name": "New coupon pool",
    "source": "uploaded",
    "type": "amount",
    "value": 12.1,
    "purchase_minimum": 2,
    "expiration_time": "2 months",
    "aggregated": False,
    "products": ["product1", "product2"],
}


def test_the_reference_example_creates_a_pool_and_answers_its_shape(api, program):
    response = api.post(BASE, json=REFERENCE_EXAMPLE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success" and body["metadata"] == []
    payload = body["payload"]
    for name, value in REFERENCE_EXAMPLE.items():
        assert payload[name] == value, name
    pool = CouponPool.objects.get(pk=int(payload["id"]))
    assert (pool.value, pool.purchase_minimum, pool.expiration_time) == (Decimal("12.10"), 2, "2 months")
    assert api.get(f"{BASE}/uniqueExternalID").json()["payload"] == payload  # by external_id
    assert api.get(f"{BASE}/{pool.pk}").json()["payload"] == payload
    assert ChangeLogEntry.objects.get().action == "coupon_pool_create"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"source": "uploaded", "type": "amount", "value": 5}, 202007, "name"),
        ({"name": "P", "type": "amount", "value": 5}, 202005, "source"),
        ({"name": "P", "source": "remote", "type": "amount", "value": 5}, 202006, "source"),
        ({"name": "P", "source": "uploaded", "value": 5}, 202009, "type"),
        ({"name": "P", "source": "uploaded", "type": "voucher", "value": 5}, 202011, "type"),
        ({"name": "P", "source": "uploaded", "type": 7, "value": 5}, 202010, "type"),
        ({"name": 5, "source": "uploaded", "type": "amount", "value": 5}, 202008, "name"),
        ({"name": "P", "source": "uploaded", "type": "amount", "value": "lots"}, 202012, "value"),
        ({"name": "P", "source": "uploaded", "type": "amount", "value": 1.234}, 202013, "value"),
        ({"name": "P", "source": "uploaded", "type": "amount", "value": 0}, 202014, "value"),
        ({"name": "P", "source": "uploaded", "type": "amount", "value": -10}, 202014, "value"),
        ({"name": "P", "source": "uploaded", "type": "percentage", "value": 250}, 202042, "value"),
        ({"name": "P", "source": "uploaded", "type": "amount", "value": 1e30}, 202012, "value"),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "purchase_minimum": "x"},
            202015,
            "purchase_minimum",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "purchase_minimum": 0},
            202016,
            "purchase_minimum",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "minimum_value": 2},
            202039,
            "minimum_value",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "minimum_redemption_value": 2},
            202040,
            "minimum_redemption_value",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "currency": "EUR"},
            202041,
            "currency",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "gift_card", "value": 5, "currency": "E1R"},
            202022,
            "currency",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "gift_card", "value": 5, "minimum_value": 0},
            202018,
            "minimum_value",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "expiration_time": 60},
            202023,
            "expiration_time",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "expiration_time": "soon"},
            202024,
            "expiration_time",
        ),
        (
            {
                "name": "P",
                "source": "uploaded",
                "type": "amount",
                "value": 5,
                "expiration_time": "1000 months",
            },
            202025,
            "expiration_time",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "aggregated": "yes"},
            202026,
            "aggregated",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "stores": "store1"},
            202027,
            "stores",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "stores": ["store1"]},
            202028,
            "stores",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "products": "p1"},
            202029,
            "products",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "products": [""]},
            202043,
            "products",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "external_id": 123456},
            202030,
            "external_id",
        ),
        (
            {"name": "P", "source": "uploaded", "type": "amount", "value": 5, "external_id": "abc"},
            202032,
            "external_id",
        ),
        (["not", "an", "object"], None, "body"),
    ],
)
def test_bad_attributes_answer_the_reference_code_naming_the_field_and_create_nothing(
    api, program, body, code, field
):
    response = api.post(BASE, json=body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == field
    if code is not None:
        assert error["code"] == code
    assert not CouponPool.objects.exists() and not ChangeLogEntry.objects.exists()


def test_external_ids_are_unique(api, program):
    assert api.post(BASE, json=REFERENCE_EXAMPLE).status_code == 200
    again = api.post(BASE, json={**REFERENCE_EXAMPLE, "name": "Other"})
    assert again.status_code == 400 and again.json()["error"]["code"] == 202031
    assert CouponPool.objects.count() == 1


def test_a_free_shipping_pool_needs_no_value(api, program):
    response = api.post(BASE, json={"name": "Ship", "source": "uploaded", "type": "free_shipping"})
    assert response.status_code == 200, response.content
    assert response.json()["payload"]["type"] == "free_shipping"
    ship = {"name": "Ship", "source": "uploaded", "type": "free_shipping"}
    assert api.post(BASE, json={**ship, "value": 0}).status_code == 200  # ignored, as the console takes it
    refused = api.post(BASE, json={**ship, "value": -1}).json()["error"]
    assert (refused["code"], refused["field"]) == (202014, "value")


def test_an_unknown_pool_is_the_reference_404(api, program):
    for path in (f"{BASE}/nope123/update", f"{BASE}/999999/update"):
        response = api.post(path, json={"update_method": "update_none"})
        assert response.status_code == 404 and response.json()["error"]["code"] == 202001
    assert api.get(f"{BASE}/999999").json()["error"]["code"] == 202001


def test_nul_characters_anywhere_are_refused_and_store_nothing(api, program):
    """The body is kept in the change log as it came, so a NUL even in an unknown key is refused
    (PostgreSQL stores none); a NUL in the path's pool ID is no pool."""
    created = api.post(BASE, json={"name": "N1", "source": "generated", "type": "amount", "value": 5})
    pool_id = created.json()["payload"]["id"]
    entries = ChangeLogEntry.objects.count()
    for path, body in (
        (BASE, {"name": "N2", "source": "generated", "type": "amount", "value": 5, "foo\x00": 1}),
        (BASE, {"name": "N3", "source": "generated", "type": "amount", "value": 5, "extra": ["a\x00"]}),
        (f"{BASE}/{pool_id}/update", {"update_method": "update_none", "foo\x00": 1}),
    ):
        response = api.post(path, json=body)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["field"].startswith("body")
    assert CouponPool.objects.count() == 1 and ChangeLogEntry.objects.count() == entries
    assert api.get(f"{BASE}/ext%00x").json()["error"]["code"] == 202001
    response = api.post(f"{BASE}/ext%00x/update", json={"update_method": "update_none"})
    assert response.status_code == 404 and response.json()["error"]["code"] == 202001


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "x"}, 202033, "update_method"),
        ({"update_method": 3}, 202034, "update_method"),
        ({"update_method": "update_some"}, 202035, "update_method"),
        ({"update_method": "update_all", "update_matching": "no"}, 202038, "update_matching"),
        ({"update_method": "update_all", "value": -1}, 202014, "value"),
        ({"update_method": "update_none", "type": "percentage"}, 202044, "type"),
    ],
)
def test_bad_updates_change_nothing(api, program, body, code, field):
    pool = CouponPool.objects.create(name="Ten", type="amount", value=10)
    import_codes(pool, "AAA-1\n")
    response = api.post(f"{BASE}/{pool.pk}/update", json=body)
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    pool.refresh_from_db()
    assert (pool.name, pool.type, pool.value) == ("Ten", "amount", 10)
    assert Coupon.objects.get().value is None


def _pool_with_coupons():
    """A €10 pool: AAA-1 unassigned, BBB-2 held by Anna, CCC-3 held and redeemed."""
    pool = CouponPool.objects.create(name="Ten", type="amount", value=10, external_id="ten-off-pool")
    import_codes(pool, "AAA-1\nBBB-2\nCCC-3\n")
    enroll()
    register("coupon_assign", data={"code": "BBB-2"})
    register("coupon_assign", data={"code": "CCC-3"})
    register("coupon_redeem", data={"code": "CCC-3"})
    return pool


def _values() -> dict:
    return {c.code: c.face_value for c in Coupon.objects.select_related("pool")}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("update_all", {"AAA-1": 15, "BBB-2": 15, "CCC-3": 15}),
        ("update_none", {"AAA-1": 10, "BBB-2": 10, "CCC-3": 10}),
        ("update_not_redeemed", {"AAA-1": 15, "BBB-2": 15, "CCC-3": 10}),
        ("update_unassigned", {"AAA-1": 15, "BBB-2": 10, "CCC-3": 10}),
    ],
)
def test_update_method_decides_which_coupons_take_the_new_value(api, program, method, expected):
    pool = _pool_with_coupons()
    response = api.post(f"{BASE}/ten-off-pool/update", json={"update_method": method, "value": 15})
    assert response.status_code == 200, response.content
    assert response.json()["metadata"] == {"update_method": method, "update_matching": False}
    assert response.json()["payload"]["value"] == 15
    assert _values() == expected
    # a later pool change moves only the followers again
    api.post(f"{BASE}/{pool.pk}/update", json={"update_method": "update_all", "value": 20})
    assert set(_values().values()) == {20}
    assert [e.action for e in ChangeLogEntry.objects.order_by("id")] == ["coupon_pool_update"] * 2


def test_update_matching_moves_only_coupons_with_the_pools_old_value(api, program):
    pool = _pool_with_coupons()
    api.post(f"{BASE}/{pool.pk}/update", json={"update_method": "update_unassigned", "value": 15})
    # BBB-2 and CCC-3 now keep 10 of their own; AAA-1 follows the pool (15)
    response = api.post(
        f"{BASE}/{pool.pk}/update", json={"update_method": "update_all", "update_matching": True, "value": 12}
    )
    assert response.status_code == 200, response.content
    assert _values() == {"AAA-1": 12, "BBB-2": 10, "CCC-3": 10}


def test_a_renamed_pool_keeps_its_coupons_values(api, program):
    pool = _pool_with_coupons()
    response = api.post(
        f"{BASE}/{pool.pk}/update", json={"update_method": "update_none", "name": "Ten euro off"}
    )
    assert response.status_code == 200 and response.json()["payload"]["name"] == "Ten euro off"
    assert set(_values().values()) == {10} and not Coupon.objects.exclude(value=None).exists()


def test_the_coupons_api_shows_and_filters_each_coupons_own_value(api, program):
    pool = _pool_with_coupons()
    api.post(f"{BASE}/{pool.pk}/update", json={"update_method": "update_unassigned", "value": 15})
    held = api.get("/api/customers/Anna-1/coupons").json()["data"]
    assert {c["code"]: c["amount"] for c in held} == {"BBB-2": 10, "CCC-3": 10}
    ten = api.get("/api/customers/Anna-1/coupons?value=10").json()["data"]
    assert sorted(c["code"] for c in ten) == ["BBB-2", "CCC-3"]
    assert api.get("/api/customers/Anna-1/coupons?value=15").json()["data"] == []


def test_a_pool_that_stops_being_a_gift_card_drops_the_gift_card_attributes(api, program):
    body = {"name": "Cards", "source": "generated", "type": "gift_card", "value": 20}
    created = api.post(
        BASE, json={**body, "currency": "eur", "minimum_redemption_value": 1, "minimum_value": 2}
    )
    pool_id = created.json()["payload"]["id"]
    changed = api.post(f"{BASE}/{pool_id}/update", json={"update_method": "update_none", "type": "amount"})
    assert changed.status_code == 200, changed.content
    pool = CouponPool.objects.get(pk=int(pool_id))
    assert (pool.type, pool.currency, pool.minimum_value, pool.minimum_redemption_value) == (
        "amount",
        "",
        None,
        None,
    )
    again = api.post(f"{BASE}/{pool_id}/update", json={"update_method": "update_none", "currency": "EUR"})
    assert again.status_code == 400 and again.json()["error"]["code"] == 202041


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("120 months", True),
        ("10 years", True),
        ("3652 days", True),
        ("521 weeks", True),
        ("121 months", False),
        ("3653 days", False),
        ("522 weeks", False),
        ("11 years", False),
    ],
)
def test_the_ten_year_limit_of_expiration_time_is_the_same_in_every_unit(api, program, text, accepted):
    body = {"name": "P", "source": "generated", "type": "amount", "value": 5, "expiration_time": text}
    response = api.post(BASE, json=body)
    if accepted:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 400 and response.json()["error"]["code"] == 202025
