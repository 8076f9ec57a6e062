"""Digits that are not ASCII: str.isdigit() is true of "²" (int() raises ValueError) and of "١٢"
(int() reads 12), and of 5,000 ASCII digits (int() refuses more than 4,300). Every ID, page
number and list index read from a URL, a query string, a form or a JSON key is checked with
loyalty.bounds.is_digits first: such a value is a 400 or a 404 naming the field, never a 500 and
never another row's ID. The property test generalizes to any text."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.engine import register_event
from events.models import Event
from loyalty.bounds import is_digits

from .conftest import error_of

SUPERSCRIPT_TWO = quote("²")
ARABIC_ONE = quote("١")


def enroll(customer_id="Anna-1"):
    return register_event(
        environment="live",
        customer=customer_id,
        action="opt_in",
        data={"email": f"{customer_id}@example.com"},
    ).customer


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_ONE, "9" * 30])
@pytest.mark.parametrize(
    "path",
    [
        "/api/customers/Anna-1/events?limit={}",
        "/api/customers/Anna-1/events?offset={}",
        "/api/workflows/{}",
        "/api/workflows/{}/runs",
        "/api/workflow-runs/{}",
        "/api/imports/{}",
        "/api/exports/{}",
        "/api/segments/{}",
        "/api/entities/core/customer-list/{}",
        "/api/entities/rewards/reward/{}",
        "/api/v1/coupon-pools/{}",
        "/api/coupons?code=X&page={}",
    ],
)
def test_a_non_ascii_digit_in_an_id_or_a_page_is_a_400_or_404(api, path, digit):
    """Before: "²" in any of these gave a 500 (int("²") raised ValueError after isdigit())."""
    enroll()
    response = api.get(path.format(digit))
    assert response.status_code in (400, 404), response.content
    assert error_of(response)["field"] is not None


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_ONE, "9" * 30])
@pytest.mark.parametrize("path", ["/api/pending-triggers/{}/retry", "/api/pending-triggers/{}/discard"])
def test_a_non_ascii_digit_in_a_pending_trigger_id_is_a_404(api, path, digit):
    """Before: "²" passed str.isdigit() and int() raised: a 500 (the endpoint came with the same
    day's outbox work, after the sweep above)."""
    response = api.post(path.format(digit), json={"reason": "check"})
    assert response.status_code == 404, response.content
    assert error_of(response)["field"] == "id"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"labels": {"²": "vip"}}, "data.labels"),  # before: 500 from int("²") while sorting keys
        ({"labels": {"9" * 5000: "vip"}}, "data.labels"),  # before: 500, int() of 5,000 digits
    ],
)
def test_a_list_given_as_an_object_with_non_ascii_digit_keys_is_a_400(api, data, field):
    enroll()
    body = json.dumps({"customer": "Anna-1", "action": "profile", "data": data})
    response = api.request("POST", "/api/events", body=body)
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == field
    assert not Event.objects.filter(action="profile").exists()


def test_checkout_items_keyed_by_non_ascii_digits_are_a_400(api):
    enroll()
    item = {"product_id": "P1", "quantity": 1, "price": 10, "subtotal": 10}
    body = {
        "customer": "Anna-1",
        "action": "checkout",
        "data": {"transaction_id": "T1", "total": 10, "items": {"²": item}},
    }
    response = api.post("/api/events", json=body)
    assert response.status_code == 400, response.content
    assert not Event.objects.filter(action="checkout").exists()


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("reward", {"reward": "²"}, "data.reward"),
        ("reward", {"reward": "9" * 5000}, "data.reward"),
        ("coupon_assign", {"pool": "²"}, "data.pool"),
        ("coupon_assign", {"pool": "9" * 5000}, "data.pool"),
        ("customer_list_add", {"list": "²"}, "data.list"),
    ],
)
def test_non_ascii_or_overlong_digits_in_event_references_name_the_field(api, action, data, field):
    """Before: "²" or 5,000 digits as a reward or pool reference gave a 500."""
    enroll()
    response = api.post("/api/events", json={"customer": "Anna-1", "action": action, "data": data})
    assert 400 <= response.status_code < 500, response.content
    assert error_of(response)["field"] == field
    assert not Event.objects.filter(action=action).exists()


def test_a_form_body_index_of_many_digits_is_a_400(api):
    enroll()
    body = "customer=Anna-1&action=profile&data[labels][" + "9" * 5000 + "]=vip"
    response = api.request("POST", "/api/events", body=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", True),
        ("123", True),
        ("9" * 18, True),
        ("9" * 19, False),
        ("²", False),
        ("١٢", False),
        ("", False),
        ("-1", False),
        (" 1", False),
        ("1.0", False),
        (5, True),
        (-5, False),
        (True, False),
        (1.0, False),
        (None, False),
    ],
)
def test_is_digits_examples(value, expected):
    assert is_digits(value) is expected


@given(st.text(max_size=25) | st.integers())
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_property_is_digits_means_int_reads_it_and_fits_a_bigint(value):
    if is_digits(value):
        number = int(value)
        assert 0 <= number < 2**63 and str(number) == str(value).lstrip("0") or number == 0
    else:
        text = value if isinstance(value, str) else str(value)
        assert not (text.isascii() and text.isdigit() and len(text) <= 18)
