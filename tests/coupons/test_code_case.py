"""Issue 13 §3: coupon codes match regardless of letter case, everywhere, and a checkout naming a
coupon that cannot be applied still records the purchase, with a warning."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from coupons.models import Coupon, CouponPool, CouponRedemption
from coupons.pools import generate_codes, import_codes
from events.models import Event
from loyalty import clock
from loyalty.errors import BusinessRuleError, ValidationError
from tests.factories import console, enroll, register
from tests.transactions.helpers import checkout, rule, tx

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(program):
    return CouponPool.objects.create(name="Save", type="amount", value=10, usage_limit=1)


@pytest.fixture
def anna(program):
    return enroll("Anna-1", email="anna@example.com")


def test_the_issue_example_a_lower_case_code_redeems_at_checkout(anna, pool):
    rule()
    import_codes(pool, "SAVE-E73H\n")
    register("coupon_assign", data={"code": "SAVE-E73H"})
    result = checkout("T-1", 200, coupon_code="save-e73h")
    assert result.warnings == []
    assert tx().status == "accepted" and tx().points_earned == 200
    coupon = Coupon.objects.get()
    assert (coupon.usages, coupon.status) == (1, "redeemed")
    assert Event.objects.get(action="coupon_redeem").data["code"] == "SAVE-E73H"


def test_every_coupon_event_finds_the_code_whatever_its_case(anna, pool):
    enroll("Bob-1", email="bob@example.com")
    codes = generate_codes(pool, 3, pattern="save-????")
    lower = [code.lower() for code in codes]
    register("coupon_assign", data={"code": lower[0]})
    register("coupon_redeem", data={"code": lower[0].upper()})
    register("coupon_unredeem", data={"code": lower[0]})
    register("coupon_assign", data={"code": lower[1]})
    console("coupon_transfer", data={"code": lower[1], "to": "bob@example.com"}, reason="gift")
    assert Coupon.objects.get(code=codes[1]).customer.customer_id == "Bob-1"
    register("coupon_assign", data={"code": codes[2].swapcase()})
    console("coupon_invalidate", data={"code": lower[2]}, reason="fraud")
    console("coupon_expiration_change", data={"code": lower[0], "expiration_date": "2999-01-01"}, reason="r")
    assert Coupon.objects.get(code=codes[2]).status == "invalid"
    assert Coupon.objects.get(code=codes[0]).usages == 0


def test_the_redeem_endpoint_finds_a_lower_case_code(api, anna, pool):
    import_codes(pool, "SAVE-E73H\n")
    register("coupon_assign", data={"code": "SAVE-E73H"})
    response = api.post("/api/coupons/save-e73h/redeem", json={})
    assert response.status_code == 200, response.content
    assert response.json()["coupon"]["usages"] == 1


def test_codes_are_unique_regardless_of_case_in_the_database(pool):
    Coupon.objects.create(pool=pool, code="abc-123")
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(pool=pool, code="ABC-123")
    assert Coupon.objects.count() == 1


def test_an_import_reports_a_code_differing_only_by_case_as_a_row_error(pool):
    import_codes(pool, "abc-123\n")
    with pytest.raises(ValidationError, match="differs only by letter case from the existing code 'abc-123'"):
        import_codes(pool, "XYZ-9\nABC-123\n")
    with pytest.raises(ValidationError, match="differs only by letter case from 'qq-11' in the file"):
        import_codes(pool, "qq-11\nQQ-11\n")
    assert list(Coupon.objects.values_list("code", flat=True)) == ["abc-123"]


def test_generated_codes_never_clash_by_case(pool):
    Coupon.objects.create(pool=pool, code="a-b-c")  # not a generated shape, but shows the rule
    codes = generate_codes(pool, 40, pattern="x-???")
    assert len({code.upper() for code in codes}) == 40


def test_the_console_search_finds_a_code_whatever_its_case(admin_client, pool):
    import_codes(pool, "SAVE-E73H\nOTHER-1\n")
    response = admin_client.get(reverse("coupons:pool_codes", args=[pool.pk]), {"code": "save-e73h"})
    assert response.status_code == 200
    assert b"SAVE-E73H" in response.content and b"OTHER-1" not in response.content


# --- a checkout naming a coupon that cannot be applied ------------------------------------------


def _gift(program):
    gift = CouponPool.objects.create(name="Gift", type="gift_card", value=50)
    import_codes(gift, "GIFT-1\n")
    return gift


def _setup(kind, pool):
    """Make the coupon `kind` names; returns the code the checkout uses."""
    if kind == "coupon_not_found":
        return "NOPE-1"
    if kind == "coupon_expired":
        import_codes(pool, "OLD-1\n")
        register("coupon_assign", data={"code": "OLD-1"})
        past = (clock.now() - dt.timedelta(days=1)).isoformat()
        console("coupon_expiration_change", data={"code": "OLD-1", "expiration_date": past}, reason="r")
        return "old-1"
    if kind == "coupon_invalid":
        import_codes(pool, "BAD-1\n")
        register("coupon_assign", data={"code": "BAD-1"})
        console("coupon_invalidate", data={"code": "BAD-1"}, reason="fraud")
        return "BAD-1"
    if kind == "coupon_used_up":
        import_codes(pool, "USED-1\n")
        register("coupon_assign", data={"code": "USED-1"})
        register("coupon_redeem", data={"code": "USED-1"})
        return "USED-1"
    if kind == "gift_card_empty":
        _gift(pool)
        register("coupon_assign", data={"code": "GIFT-1"})
        register("coupon_redeem", data={"code": "GIFT-1"})  # the whole balance
        return "gift-1"
    if kind == "coupon_not_owned":
        import_codes(pool, "BOBS-1\n")
        register("coupon_assign", "Bob-1", data={"code": "BOBS-1"})
        return "BOBS-1"
    raise AssertionError(kind)


KINDS = [
    "coupon_not_found",
    "coupon_expired",
    "coupon_invalid",
    "coupon_used_up",
    "gift_card_empty",
    "coupon_not_owned",
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_checkout_with_an_unusable_coupon_records_the_purchase_and_warns(anna, pool, kind):
    rule()
    enroll("Bob-1", email="bob@example.com")
    code = _setup(kind, pool)
    coupons_before = list(Coupon.objects.order_by("pk").values())
    redemptions_before = CouponRedemption.objects.count()
    result = checkout("T-1", 80, coupon_code=code)
    assert [w["code"] for w in result.warnings] == [kind]
    assert result.warnings[0]["coupon"].upper() == code.upper()
    saved = tx()
    assert saved.status == "accepted" and saved.points_earned == 80 and saved.warnings == result.warnings
    assert saved.customer.spendable == 80
    assert list(Coupon.objects.order_by("pk").values()) == coupons_before  # nothing applied
    assert CouponRedemption.objects.count() == redemptions_before


def test_the_api_response_carries_the_warnings(api, anna, pool):
    rule()
    response = api.post(
        "/api/events",
        {
            "customer": "Anna-1",
            "action": "checkout",
            "data": {"transaction_id": "T-9", "total": 50, "coupon_code": "NOPE"},
        },
    )
    assert response.status_code == 200, response.content
    assert [w["code"] for w in response.json()["warnings"]] == ["coupon_not_found"]


def test_an_emptied_gift_card_says_it_has_no_balance(anna, pool):
    _gift(pool)
    register("coupon_assign", data={"code": "GIFT-1"})
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 50})
    with pytest.raises(BusinessRuleError) as refused:
        register("coupon_redeem", data={"code": "GIFT-1", "amount": 1})
    assert refused.value.message == "Gift card 'GIFT-1' has no balance left."
    assert "uses" not in refused.value.message
    assert Coupon.objects.get(code="GIFT-1").balance == Decimal("0")
