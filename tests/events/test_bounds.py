"""Issue 13 §6: values the database cannot hold are refused (400 naming the attribute), never
half-stored or cut. The sweep generates every bounded attribute of every built-in action at its
bounds and just past them; the examples run through the engine and the API."""

from decimal import Decimal

import pytest
from django.db import models

from coupons.models import Coupon
from customers.models import Customer
from events.definitions import BUILTIN_ACTIONS, PROFILE_ATTRS, Attr
from events.models import Event
from events.validation import validate_data
from loyalty.bounds import INTEGER_MAX, LIST_MAX, NUMBER_MAX, TEXT_MAX, YEAR_MAX, YEAR_MIN
from loyalty.errors import ValidationError
from tests.factories import enroll, register
from transactions.items import TEXT_FIELDS
from transactions.models import Transaction, TransactionItem


def _limits(attr: Attr):
    """[(value at the bound, value just past it)] for one attribute."""
    if attr.type == "string":
        limit = attr.max_length or TEXT_MAX
        return [("x" * limit, "x" * (limit + 1))]
    if attr.type == "list":
        limit = attr.max_items or LIST_MAX
        cases = [([{}] * limit if attr.name == "items" else ["a"] * limit, ["a"] * (limit + 1))]
        if attr.name != "items":
            length = attr.max_length or TEXT_MAX
            cases.append((["y" * length], ["y" * (length + 1)]))
        return cases
    if attr.type in ("integer", "number"):
        default = INTEGER_MAX if attr.type == "integer" else NUMBER_MAX
        low = attr.minimum if attr.minimum is not None else -default
        high = attr.maximum if attr.maximum is not None else default
        step = 1 if attr.type == "integer" else Decimal("0.01")
        as_json = int if attr.type == "integer" else str
        return [(as_json(high), as_json(high + step)), (as_json(low), as_json(low - step))]
    if attr.type == "date":
        return [(f"{YEAR_MAX}-12-31", "9999-12-31"), (f"{YEAR_MIN}-01-01", f"{YEAR_MIN - 1}-12-31")]
    if attr.type == "datetime":
        return [
            (f"{YEAR_MAX}-12-31", "9999-12-31"),
            (f"{YEAR_MAX}-12-31T23:59:59Z", f"{YEAR_MAX + 1}-01-01T00:00:00Z"),
            (f"{YEAR_MAX}-12-31T10:00:00+14:00", "9999-12-31T23:00:00-14:00"),  # past year 9999 in UTC
            (f"{YEAR_MIN}-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00"),  # before year 1 in UTC
        ]
    return []


REQUIRED = {"string": "x", "integer": 1, "number": 1, "list": ["1"], "datetime": "2030-01-01"}
SWEEP = [
    pytest.param(spec, attr, at, past, id=f"{spec.action}.{attr.name}.{index}")
    for spec in BUILTIN_ACTIONS.values()
    for attr in spec.attributes
    for index, (at, past) in enumerate(_limits(attr))
]


@pytest.mark.django_db
@pytest.mark.parametrize("spec, attr, at, past", SWEEP)
def test_every_attribute_of_every_action_at_its_bounds_and_just_past(spec, attr, at, past):
    assert len(SWEEP) > 150  # every action's bounded attributes are swept
    base = {other.name: REQUIRED[other.type] for other in spec.attributes if other.required}
    clean = validate_data(spec, {**base, attr.name: at})
    assert attr.name in clean
    with pytest.raises(ValidationError) as refused:
        validate_data(spec, {**base, attr.name: past})
    assert refused.value.field == f"data.{attr.name}"


def _column_length(model, name) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField)
    assert field.max_length is not None
    return field.max_length


def test_declared_lengths_fit_the_columns_they_are_stored_in():
    for attr in PROFILE_ATTRS:
        if attr.name in ("birth_date", "labels", "referrer"):
            continue
        assert attr.max_length == _column_length(Customer, attr.name), attr.name
    for spec in BUILTIN_ACTIONS.values():
        tid = spec.attribute("transaction_id")
        if tid is not None:
            assert tid.max_length == _column_length(Transaction, "transaction_id")
            assert tid.max_length == _column_length(Event, "transaction_id")
        for name, model in (("currency", Transaction), ("channel", Transaction)):
            attr = spec.attribute(name)
            if attr is not None and spec.transactional:
                assert attr.max_length == _column_length(model, name)
        code = spec.attribute("code") or spec.attribute("coupon_code")
        if code is not None:
            assert code.max_length == _column_length(Coupon, "code")
    for name, length in TEXT_FIELDS.items():
        assert length == _column_length(TransactionItem, name)


# --- the examples, through the engine ---------------------------------------------------


@pytest.mark.django_db
def test_a_checkout_total_past_the_bound_is_refused_and_later_checkouts_still_work(program):
    enroll("Big-1")
    with pytest.raises(ValidationError) as refused:
        register("checkout", "Big-1", {"transaction_id": "T-huge", "total": 999999999999.99})
    assert refused.value.field == "data.total"
    assert not Transaction.objects.exists()
    register("checkout", "Big-1", {"transaction_id": "T-2", "total": 20})
    assert Customer.objects.get(customer_id="Big-1").purchase_total == Decimal("20")


@pytest.mark.django_db
def test_the_purchase_that_would_overflow_the_customers_total_is_refused(program):
    enroll("Big-2")
    customer = Customer.objects.get(customer_id="Big-2")
    Customer.objects.filter(pk=customer.pk).update(purchase_total=Decimal("999999999000"))
    with pytest.raises(ValidationError) as refused:
        register("checkout", "Big-2", {"transaction_id": "T-over", "total": 1000})
    assert refused.value.field == "data.total"
    register("checkout", "Big-2", {"transaction_id": "T-fits", "total": "999.99"})
    assert Customer.objects.get(pk=customer.pk).purchase_total == Decimal("999999999999.99")


@pytest.mark.django_db
def test_long_transaction_ids_are_refused_not_cut_so_they_never_collide(program):
    enroll("Long-1")
    enroll("Long-2")
    with pytest.raises(ValidationError) as refused:
        register("checkout", "Long-1", {"transaction_id": "A" * 128 + "1" * 72, "total": 5})
    assert refused.value.field == "data.transaction_id"
    register("checkout", "Long-2", {"transaction_id": "A" * 128, "total": 5})
    assert Transaction.objects.get().transaction_id == "A" * 128


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, field",
    [
        ({"items": [{"product_id": "P" * 201, "price": 1}]}, "data.items.0.product_id"),
        ({"items": [{"product_name": "N" * 301, "price": 1}]}, "data.items.0.product_name"),
        ({"items": [{"product_id": "P", "price": "999999999", "quantity": 2}]}, "data.items.0.subtotal"),
        ({"items": [{"product_id": "P", "price": 1, "quantity": 10**6 + 1}]}, "data.items.0.quantity"),
        ({"items": [{"price": "600000000"}, {"price": "600000000"}]}, "data.items"),
        ({"currency": "EURO"}, "data.currency"),
        ({"channel": "c" * 65}, "data.channel"),
    ],
)
def test_item_and_purchase_fields_past_their_columns_are_refused(program, data, field):
    enroll("Items-1")
    with pytest.raises(ValidationError) as refused:
        register("checkout", "Items-1", {"transaction_id": "T-items", **data})
    assert refused.value.field == field
    assert not Transaction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", ["1e3", "2.0", 2.0, " 7 ", "١٢", "+3", True, [2]])
def test_an_item_quantity_follows_the_integer_rule_and_is_never_reinterpreted(program, quantity):
    """Before: "1e3" was stored as 1000 items, "١٢" as 12, "2.0" and 2.0 as 2 (refund_item's
    quantity, an integer attribute, already refused them). After: data.items.0.quantity."""
    enroll("Items-1")
    with pytest.raises(ValidationError) as refused:
        register(
            "checkout", "Items-1", {"transaction_id": "T-q", "items": [{"price": 1, "quantity": quantity}]}
        )
    assert refused.value.field == "data.items.0.quantity"
    assert not Transaction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("quantity", "stored"), [(3, 3), ("3", 3), ("0", 0), (None, 1), ("", 1)])
def test_item_quantities_as_integers_or_ascii_digits_are_read(program, quantity, stored):
    enroll("Items-1")
    register("checkout", "Items-1", {"transaction_id": "T-q", "items": [{"price": 1, "quantity": quantity}]})
    assert Transaction.objects.get().items.get().quantity == stored


@pytest.mark.django_db
def test_a_reason_past_its_bound_is_refused(program):
    enroll("Reason-1")
    with pytest.raises(ValidationError) as refused:
        register("point_add", "Reason-1", {"points": 1}, reason="r" * (TEXT_MAX + 1))
    assert refused.value.field == "reason"


# --- the console's settings feed the same arithmetic: bounded there too --------------------------


@pytest.mark.django_db
def test_console_settings_that_feed_expiry_arithmetic_are_bounded(program):
    from coupons.forms import CouponPoolForm, RewardForm
    from loyalty.program_settings.forms import PointAccountForm, TierStructureForm

    pool = CouponPoolForm(
        data={
            "name": "P",
            "type": "amount",
            "value": 1,
            "usage_limit": 1,
            "code_pattern": "????",
            "validity_days": 10**9,
            "valid_until": "9999-12-31T10:00",
        }
    )
    assert not pool.is_valid()
    assert {"validity_days", "valid_until"} <= set(pool.errors)
    reward = RewardForm(data={"name": "R", "points": 10**13, "gives": "nothing"})
    assert not reward.is_valid() and "points" in reward.errors
    account = PointAccountForm(
        data={
            "code": "big",
            "name": "Big",
            "expiration_rule": "fixed_period",
            "expiration_period": 10**6,
            "expiration_unit": "years",
            "expiration_rounding": "none",
            "burn_rates": "[]",
        }
    )
    assert not account.is_valid() and "expiration_period" in account.errors
    structure = TierStructureForm(data={"code": "s", "name": "S", "tier_validity_months": 10**6})
    assert not structure.is_valid() and "tier_validity_months" in structure.errors


@pytest.mark.django_db
def test_custom_attributes_are_bounded_too(program):
    from customers.models import CustomField

    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")
    CustomField.objects.create(name="motto", label="Motto")
    enroll("Custom-1")
    register("profile", "Custom-1", {"shoe_size": 10**15, "motto": "m" * 1000})
    for data, field in (({"shoe_size": 10**15 + 1}, "data.shoe_size"), ({"motto": "m" * 1001}, "data.motto")):
        with pytest.raises(ValidationError) as refused:
            register("profile", "Custom-1", data)
        assert refused.value.field == field
    assert Customer.objects.get(customer_id="Custom-1").custom == {"shoe_size": 10**15, "motto": "m" * 1000}
