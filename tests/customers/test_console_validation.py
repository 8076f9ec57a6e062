"""Issue 16 §6: configuration and action forms refuse nonsense with a message on the field, and
the engine refuses the same values from any path (API, imports)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from coupons.forms import CouponPoolForm, ExpirationForm
from coupons.models import CouponPool
from customers.forms import ChangeExpirationForm, CustomFieldForm, LabelForm, ManagePointsForm, TierForm
from customers.models import Customer, CustomField, Label
from events.engine import register_event
from events.forms import EventDefinitionForm
from events.models import EventDefinition
from loyalty import clock
from loyalty.errors import ValidationError
from loyalty.models import PointLot
from tests.customers.conftest import enroll, profile
from tests.events.test_definition_views import form_data as definition_data
from tests.loyalty.test_settings_pages import field_data

pytestmark = pytest.mark.django_db

ABSURD_DATES = ["0001-01-01", "2001-12-31", "9999-12-31"]


def pool_data(**changes):
    data = {"name": "Pool", "type": "amount", "value": "10", "usage_limit": "1"}
    data.update({"code_pattern": "????-????", "active": "on", **changes})
    return data


# --- Coupon pools ----------------------------------------------------------------------------


def test_a_coupon_pool_of_minus_ten_is_refused_on_the_value(admin_client, program):
    response = admin_client.post(reverse("coupons:pool_add"), pool_data(value="-10"))
    assert response.status_code == 200
    assert response.context["form"].errors["value"] == ["The value must be at least 0.01"]  # pool_config's
    assert not CouponPool.objects.exists()


@pytest.mark.parametrize(
    "kind, value, ok",
    [
        ("percentage", "250", False),
        ("percentage", "100", True),
        ("percentage", "0", False),
        ("percentage", "12.5", True),
        ("amount", "0", False),
        ("amount", "-0.01", False),
        ("gift_card", "-5", False),
        ("gift_card", "50", True),
        ("free_shipping", "-1", False),
        ("free_shipping", "0", True),
    ],
)
def test_coupon_pool_values_by_type(program, kind, value, ok):
    form = CouponPoolForm(pool_data(type=kind, value=value))
    assert form.is_valid() is ok, form.errors
    if not ok:
        assert "value" in form.errors


@pytest.mark.parametrize("currency", ["EU", "EURO", "€€€", "1AB"])
def test_a_pool_currency_is_three_letters(program, currency):
    form = CouponPoolForm(pool_data(type="gift_card", currency=currency))
    assert not form.is_valid() and "currency" in form.errors
    assert CouponPoolForm(pool_data(type="gift_card", currency="eur")).is_valid()


# --- Event definitions ---------------------------------------------------------------------


def test_an_event_definition_awarding_minus_100_points_is_refused(admin_client, program):
    response = admin_client.post(reverse("events:definition_add"), definition_data(points="-100"))
    assert response.status_code == 200
    assert "Give 0 or more points" in str(response.context["form"].errors["points"])
    assert not EventDefinition.objects.exists()


@pytest.mark.parametrize("points, ok", [("0", True), ("5", True), ("-1", False), (str(10**13), False)])
def test_event_definition_points_bounds(program, points, ok):
    form = EventDefinitionForm({"action": "wish", "label": "Wish", "points": points, "active": "on"})
    assert form.is_valid() is ok
    if not ok:
        assert "points" in form.errors


# --- Custom field bounds ---------------------------------------------------------------------


def test_a_shoe_size_field_with_bounds_refuses_ten_to_the_twentieth_and_minus_five(admin_client, program):
    response = admin_client.post(
        reverse("customers:custom_field_add"),
        field_data(name="shoe_size", label="Shoe size", type="number", min_value="15", max_value="55"),
    )
    assert response.status_code == 302, response.context["form"].errors
    field = CustomField.objects.get(name="shoe_size")
    assert (field.min_value, field.max_value) == (15, 55)
    enroll("anna-1")
    for value, message in [(10**20, "at most 55"), (-5, "at least 15")]:
        with pytest.raises(ValidationError) as caught:
            register_event(environment="live", customer="anna-1", action="profile", data={"shoe_size": value})
        assert message in caught.value.message and caught.value.field == "data.shoe_size"
    register_event(environment="live", customer="anna-1", action="profile", data={"shoe_size": 38})
    assert Customer.objects.get(customer_id="anna-1").custom["shoe_size"] == 38
    # The Personal information form says so on the field.
    page = admin_client.get(profile("anna-1", "personal"))
    form = page.context["form"]
    bound = type(form)(
        {**{k: "" for k in form.fields}, "custom_shoe_size": "99", "reason": "x"}, customer=form.customer
    )
    assert not bound.is_valid() and "custom_shoe_size" in bound.errors


def test_a_string_field_max_length_is_enforced_by_the_engine(program):
    CustomField.objects.create(name="nickname2", label="Nick", type="string", max_length=5)
    enroll("anna-1")
    with pytest.raises(ValidationError) as caught:
        register_event(environment="live", customer="anna-1", action="profile", data={"nickname2": "abcdef"})
    assert "longer than 5" in caught.value.message
    register_event(environment="live", customer="anna-1", action="profile", data={"nickname2": "abcde"})


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"type": "number", "min_value": "10", "max_value": "5"}, "max_value"),
        ({"type": "string", "min_value": "1"}, "min_value"),
        ({"type": "number", "max_length": "5"}, "max_length"),
        ({"type": "string", "max_length": "5000"}, "max_length"),
    ],
)
def test_custom_field_bounds_that_make_no_sense_are_refused(program, changes, field):
    form = CustomFieldForm(field_data(**changes))
    assert not form.is_valid() and field in form.errors


# --- Country, language, image URL ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, stored",
    [
        ("country", "Hungary", None),
        ("country", "XX", None),
        ("country", "hu", "HU"),
        ("language", "klingon", None),
        ("language", "xx", None),
        ("language", "HU", "hu"),
        ("language", "en-gb", "en-GB"),
        ("image_url", "javascript:alert(1)", None),
        ("image_url", "data:text/html,<script>", None),
        ("image_url", "https://example.com/a.png", "https://example.com/a.png"),
    ],
)
def test_iso_codes_and_image_urls_in_the_engine(program, name, value, stored):
    enroll("anna-1")
    if stored is None:
        with pytest.raises(ValidationError) as caught:
            register_event(environment="live", customer="anna-1", action="profile", data={name: value})
        assert caught.value.field == f"data.{name}"
    else:
        register_event(environment="live", customer="anna-1", action="profile", data={name: value})
        assert getattr(Customer.objects.get(customer_id="anna-1"), name) == stored


def test_personal_form_offers_iso_choices_and_refuses_a_javascript_url(admin_client, program):
    enroll("anna-1")
    form = admin_client.get(profile("anna-1", "personal")).context["form"]
    assert ("HU", "Hungary") in form.fields["country"].choices
    assert ("hu", "Hungarian") in form.fields["language"].choices
    data = {k: "" for k in form.fields if k != "labels"}
    bound = type(form)(
        {
            **data,
            "country": "Hungary",
            "language": "klingon",
            "image_url": "javascript:alert(1)",
            "reason": "x",
        },
        customer=form.customer,
    )
    assert not bound.is_valid()
    assert {"country", "language", "image_url"} <= set(bound.errors)


# --- Labels ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, ok",
    [
        ("vip", True),
        ("VIP-2026", True),
        ("newsletter.opt_in", True),
        ("<b>vip</b>", False),
        ("two words", False),
        ("vip🎉", False),
        ("-dash", False),
        ("x" * 101, False),
    ],
)
def test_label_identifiers_have_a_documented_format(program, name, ok):
    assert LabelForm({"name": name, "active": "on"}).is_valid() is ok
    enroll("anna-1")
    if ok:
        register_event(environment="live", customer="anna-1", action="profile", data={"labels": [name]})
        assert Label.objects.filter(name=name).exists()
    else:
        with pytest.raises(ValidationError):
            register_event(environment="live", customer="anna-1", action="profile", data={"labels": [name]})


# --- Dates in action forms -------------------------------------------------------------------


@pytest.mark.parametrize("day", ABSURD_DATES)
def test_modify_point_expiration_refuses_past_and_absurd_dates(admin_client, program, day):
    enroll("anna-1", points=100)
    customer = Customer.objects.get(customer_id="anna-1")
    lot = PointLot.objects.get(customer=customer)
    form = ChangeExpirationForm({"lots": [lot.pk], "expiration_date": day, "reason": "x"}, customer=customer)
    assert not form.is_valid() and list(form.errors) == ["expiration_date"]
    response = admin_client.post(
        profile("anna-1", "change_expiration"), {"lots": [lot.pk], "expiration_date": day, "reason": "x"}
    )
    assert response.status_code == 200 and list(response.context["form"].errors) == ["expiration_date"]


@pytest.mark.parametrize("day", ABSURD_DATES)
def test_tier_and_point_and_coupon_expirations_refuse_absurd_dates(program, day):
    assert "expiration_date" in TierForm({"structure": "", "expiration_date": day, "reason": "x"}).errors
    form = ManagePointsForm({"operation": "point_add", "points": 5, "expiration_date": day, "reason": "x"})
    assert "expiration_date" in form.errors
    coupon = ExpirationForm({"expiration_date": f"{day}T10:00", "reason": "x"})
    # A coupon's date may lie in the past (that expires it now), but not centuries away.
    assert ("expiration_date" in coupon.errors) is (day != "2001-12-31")


def test_a_date_a_year_ahead_is_fine(program):
    day = (clock.today() + dt.timedelta(days=365)).isoformat()
    form = ManagePointsForm({"operation": "point_add", "points": 5, "expiration_date": day, "reason": "x"})
    assert form.is_valid(), form.errors


# --- Merge ------------------------------------------------------------------------------------


def test_a_suspended_merge_source_is_refused_before_the_confirmation_page(admin_client, program):
    enroll("anna-1")
    enroll("anna-2")
    register_event(environment="live", customer="anna-2", action="suspend", data={"reason": "fraud"})
    response = admin_client.post(
        profile("anna-1", "merge"), {"source": "anna-2", "mode": "partial", "reason": "duplicate"}
    )
    assert response.status_code == 200
    assert response.context.get("review") is None  # no confirmation page
    assert "suspended and cannot be merged" in str(response.context["form"].errors["source"])


# --- Row IDs beyond 64 bits in multiple choices ------------------------------------------------

HUGE_IDS = [str(10**28), str(2**63), "²", "-1", " 1 2"]


@pytest.mark.parametrize("pk", HUGE_IDS)
def test_a_point_lot_id_beyond_64_bits_is_refused_on_the_field(admin_client, program, pk):
    """Before: lots=10000000000000000000000000000 raised OverflowError on SQLite (a 500)."""
    enroll("anna-1", points=100)
    day = (clock.today() + dt.timedelta(days=30)).isoformat()
    response = admin_client.post(
        profile("anna-1", "change_expiration"), {"lots": [pk], "expiration_date": day, "reason": "x"}
    )
    assert response.status_code == 200 and list(response.context["form"].errors) == ["lots"]
    assert PointLot.objects.get(customer__customer_id="anna-1").expires_at is None


@pytest.mark.parametrize("pk", HUGE_IDS)
def test_a_label_id_beyond_64_bits_is_refused_on_the_field(admin_client, program, pk):
    enroll("anna-1")
    response = admin_client.post(
        profile("anna-1", "personal"), {"first_name": "Annie", "labels": [pk], "reason": "x"}
    )
    assert response.status_code == 200 and "labels" in response.context["form"].errors
    assert Customer.objects.get(customer_id="anna-1").first_name != "Annie"


def test_every_multiple_choice_of_rows_refuses_ids_beyond_64_bits():
    """The generalization: every form class of the project that offers a multiple choice of rows
    uses loyalty.console.forms.IdsChoiceField (Django's own field queries pk__in with any number)."""
    import django.forms
    from django.urls import get_resolver

    from loyalty.console.forms import IdsChoiceField

    assert get_resolver().url_patterns  # imports every view, hence every form module

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    offenders = [
        f"{form.__module__}.{form.__qualname__}.{name}"
        for form in set(subclasses(django.forms.BaseForm))
        if form.__module__.split(".")[0] in PROJECT_APPS
        for name, field in form.base_fields.items()
        if isinstance(field, django.forms.ModelMultipleChoiceField) and not isinstance(field, IdsChoiceField)
    ]
    assert offenders == []
    assert any(
        isinstance(field, IdsChoiceField)
        for form in subclasses(django.forms.BaseForm)
        for field in getattr(form, "base_fields", {}).values()
    )


PROJECT_APPS = {
    "loyalty", "customers", "events", "transactions", "coupons", "segments", "workflows", "cards",
    "referrals", "budgets", "achievements", "dataio", "dashboard", "webhooks",
}  # fmt: skip
