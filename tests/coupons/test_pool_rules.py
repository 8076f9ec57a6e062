"""What the Coupon Pools API's attributes do in the engine: a pool's purchase minimum at checkout,
a gift card's minimum redemption and minimum value, aggregated pools handing out the same code,
and `expiration_time` setting a coupon's end at assignment — on every path that assigns or redeems
(coupon_assign by pool or code, reward claims, direct redemption, checkouts). The console's pool
form refuses what the API refuses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from coupons.forms import CouponPoolForm
from coupons.models import Coupon, CouponPool, Reward
from coupons.pools import import_codes
from loyalty import clock
from loyalty.errors import BusinessRuleError
from loyalty.ledger.expiration import add_months
from loyalty.models import PointAccount
from tests.factories import register
from tests.transactions.helpers import checkout, rule

pytestmark = pytest.mark.django_db


def coupon(code) -> Coupon:
    return Coupon.objects.select_related("pool").get(code=code)


def test_a_checkout_below_the_purchase_minimum_keeps_the_coupon_with_a_warning(anna):
    rule()
    pool = CouponPool.objects.create(name="Ten", type="amount", value=10, purchase_minimum=50)
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    result = checkout("T-1", 49.99, coupon_code="AAA-1")
    assert [w["code"] for w in result.warnings] == ["coupon_purchase_minimum"]
    assert coupon("AAA-1").status == "claimed" and coupon("AAA-1").usages == 0
    checkout("T-2", 50, coupon_code="AAA-1")
    assert coupon("AAA-1").status == "redeemed"


def test_a_gift_card_redemption_below_the_minimum_is_refused_unless_it_empties_the_card(anna):
    pool = CouponPool.objects.create(name="Gift", type="gift_card", value=50, minimum_redemption_value=5)
    import_codes(pool, "GIFT-1\n")
    register("coupon_assign", data={"code": "GIFT-1"})
    with pytest.raises(BusinessRuleError, match="at least 5"):
        register("coupon_redeem", data={"code": "GIFT-1", "amount": 4})
    assert coupon("GIFT-1").balance == 50
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 47})
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 3})  # the rest of the card
    assert coupon("GIFT-1").balance == 0 and coupon("GIFT-1").status == "redeemed"


def test_a_checkout_taking_less_than_the_minimum_off_a_gift_card_leaves_it_alone(anna):
    rule()
    pool = CouponPool.objects.create(name="Gift", type="gift_card", value=50, minimum_redemption_value=5)
    import_codes(pool, "GIFT-1\n")
    register("coupon_assign", data={"code": "GIFT-1"})
    result = checkout("T-1", 3, coupon_code="GIFT-1")
    assert [w["code"] for w in result.warnings] == ["gift_card_below_minimum_redemption"]
    assert coupon("GIFT-1").balance == 50


def test_a_gift_card_whose_balance_falls_below_the_minimum_value_becomes_invalid(anna):
    pool = CouponPool.objects.create(name="Gift", type="gift_card", value=50, minimum_value=10)
    import_codes(pool, "GIFT-1\nGIFT-2\n")
    register("coupon_assign", data={"code": "GIFT-1"})
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 40})
    assert (coupon("GIFT-1").balance, coupon("GIFT-1").status) == (10, "claimed")
    register("coupon_assign", data={"code": "GIFT-2"})
    register("coupon_redeem", data={"code": "GIFT-2", "amount": 41})
    assert (coupon("GIFT-2").balance, coupon("GIFT-2").status) == (9, "invalid")
    with pytest.raises(BusinessRuleError, match="invalid"):
        register("coupon_redeem", data={"code": "GIFT-2", "amount": 9})


@pytest.mark.parametrize(
    ("kind", "value", "face", "balance"),
    [
        ("amount", 5, 10, None),
        ("gift_card", 25, 50, 50),
        ("percentage", 10, 10, None),
        ("free_shipping", 0, 0, None),
    ],
)
def test_an_aggregated_pool_hands_the_holder_the_same_code_with_its_value_added(
    anna, kind, value, face, balance
):
    pool = CouponPool.objects.create(name="Agg", type=kind, value=value, aggregated=True)
    import_codes(pool, "AGG-1\nAGG-2\n")
    register("coupon_assign", data={"pool": pool.pk})
    register("coupon_assign", data={"pool": pool.pk})
    held = Coupon.objects.filter(customer=anna)
    assert [c.code for c in held] == ["AGG-1"]
    assert coupon("AGG-1").face_value == face and coupon("AGG-1").balance == balance
    assert coupon("AGG-2").status == "unassigned"


def test_aggregation_starts_over_once_the_held_coupon_is_used(anna):
    pool = CouponPool.objects.create(name="Agg", type="amount", value=5, aggregated=True)
    import_codes(pool, "AGG-1\nAGG-2\n")
    register("coupon_assign", data={"pool": pool.pk})
    register("coupon_redeem", data={"code": "AGG-1"})
    register("coupon_assign", data={"pool": pool.pk})
    assert coupon("AGG-2").customer == anna and coupon("AGG-2").face_value == 5


def test_reward_claims_use_the_aggregated_pool_too(anna):
    pool = CouponPool.objects.create(name="Agg", type="amount", value=5, aggregated=True)
    import_codes(pool, "AGG-1\nAGG-2\n")
    reward = Reward.objects.create(
        name="Fiver", points=0, account=PointAccount.objects.get(is_default=True), gives="coupon", pool=pool
    )
    register("reward", data={"reward": reward.pk})
    register("reward", data={"reward": reward.pk})
    assert coupon("AGG-1").face_value == 10 and coupon("AGG-2").customer is None


@pytest.mark.parametrize(
    ("text", "months", "days"),
    [("2 months", 2, 0), ("1 year", 12, 0), ("30 days", 0, 30), ("2 weeks", 0, 14)],
)
def test_expiration_time_sets_the_coupons_end_at_assignment(anna, text, months, days):
    pool = CouponPool.objects.create(name="Exp", type="amount", value=5, expiration_time=text)
    import_codes(pool, "EXP-1\n")
    register("coupon_assign", data={"code": "EXP-1"})
    held = coupon("EXP-1")
    local = held.claimed_at.astimezone(clock.zone())
    if months:
        expected = add_months(local, months)
    else:  # calendar days in the program's time zone, wall clock kept
        expected = (local.replace(tzinfo=None) + dt.timedelta(days=days)).replace(tzinfo=clock.zone())
    assert held.expires_at == expected.astimezone(dt.UTC)
    assert held.expires_at > held.claimed_at + dt.timedelta(days=13)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "abc"}, "external_id"),
        ({"purchase_minimum": "0"}, "purchase_minimum"),
        ({"minimum_value": "5"}, "minimum_value"),  # an amount pool
        ({"expiration_time": "soon"}, "expiration_time"),
        ({"expiration_time": "1000 months"}, "expiration_time"),
    ],
)
def test_the_console_form_refuses_what_the_api_refuses(program, changes, field):
    data = {
        "name": "P",
        "type": "amount",
        "value": "5",
        "usage_limit": "1",
        "code_pattern": "P-????",
        "active": "on",
        "source": "uploaded",
        **changes,
    }
    form = CouponPoolForm(data)
    assert not form.is_valid() and field in form.errors
    ok = CouponPoolForm({**data, **{k: "" for k in changes}})
    assert ok.is_valid(), ok.errors
    assert ok.save().value == Decimal("5")


CONSOLE_POOL = {"name": "P", "type": "amount", "value": "5", "usage_limit": "1", "code_pattern": "P-????"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "percentage", "value": "250"}, "value"),
        ({"value": "-10"}, "value"),
        ({"external_id": "abc"}, "external_id"),
        ({"purchase_minimum": "0"}, "purchase_minimum"),
        ({"minimum_value": "5"}, "minimum_value"),  # an amount pool
        ({"currency": "EUR"}, "currency"),  # an amount pool: gift cards only, as the reference
        ({"type": "gift_card", "currency": "E1R"}, "currency"),
        ({"expiration_time": "soon"}, "expiration_time"),
    ],
)
def test_a_rule_broken_in_the_console_shows_the_shared_rules_message_on_its_field(
    admin_client, api, program, changes, field
):
    response = admin_client.post(reverse("coupons:pool_add"), {**CONSOLE_POOL, "active": "on", **changes})
    assert response.status_code == 200
    shown = response.context["form"].errors
    refused = api.post("/api/v1/coupon-pools", json={**CONSOLE_POOL, "source": "uploaded", **changes})
    error = refused.json()["error"]
    assert error["field"] == field
    assert shown == {field: [error["message"]]}  # the API's message, on the field, and nothing else
    assert not CouponPool.objects.exists()


def test_the_console_form_shows_every_broken_rule_at_once_and_saves_the_normalized_values(program):
    form = CouponPoolForm(
        {**CONSOLE_POOL, "external_id": "abc", "purchase_minimum": "0", "expiration_time": "soon"}
    )
    assert not form.is_valid()
    assert set(form.errors) == {"external_id", "purchase_minimum", "expiration_time"}
    ok = CouponPoolForm(
        {**CONSOLE_POOL, "type": "gift_card", "currency": "eur", "external_id": "  gift-2026 "}
    )
    assert ok.is_valid(), ok.errors
    pool = ok.save()
    assert (pool.currency, pool.external_id) == ("EUR", "gift-2026")


def test_editing_a_pool_checks_what_changed_as_the_api_update_does(program):
    legacy = CouponPool.objects.create(name="Old", type="amount", value=5, currency="EUR")  # before the rule
    data = {**CONSOLE_POOL, "name": "Renamed", "currency": "EUR", "active": "on"}
    form = CouponPoolForm(data, instance=legacy)
    assert form.is_valid(), form.errors
    assert form.save().name == "Renamed"
    changed = CouponPoolForm({**data, "currency": "USD"}, instance=legacy)
    assert not changed.is_valid() and "currency" in changed.errors
    bigger = CouponPoolForm({**data, "type": "percentage", "value": "150"}, instance=legacy)
    assert not bigger.is_valid() and "value" in bigger.errors
