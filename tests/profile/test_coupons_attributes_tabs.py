"""003's Coupons columns (campaign, session, redemptions "x of limit", attributes) and Attributes tab."""

import pytest
from django.urls import reverse

from coupons.models import Coupon, CouponPool
from customers.models import CustomField
from events.engine import register_event
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access
from tests.transactions.helpers import rule

pytestmark = pytest.mark.django_db


def test_coupons_tab_has_003_columns(admin_client, program):
    enroll("anna-1")
    rule()
    pool = CouponPool.objects.create(
        name="Spring sale", type="amount", value=5, currency="EUR", usage_limit=3
    )
    Coupon.objects.create(pool=pool, code="SPRING-1", status="unassigned")
    register_event(environment="live", customer="anna-1", action="coupon_assign", data={"code": "SPRING-1"})
    register_event(
        environment="live",
        customer="anna-1",
        action="checkout",
        data={"transaction_id": "T-5", "total": 50, "coupon_code": "SPRING-1"},
    )
    html = admin_client.get(reverse("coupons:customer_coupons", kwargs={"ref": "anna-1"})).content.decode()
    for column in ("Created", "Campaign", "Session", "Redemptions", "Attributes"):
        assert column in html, column
    assert "Spring sale" in html and "1 of 3" in html and "T-5" in html and "value: 5.00 EUR" in html


def test_attributes_tab(client, cast, program):
    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")
    CustomField.objects.create(name="store", label="Store")
    enroll("anna-1", first_name="Anna", shoe_size=38)
    url = reverse("customers:customer_attributes", kwargs={"ref": "anna-1"})
    html = assert_page_access(client, cast, url, allowed=STAFF_ROLES)["analyst"].content.decode()
    assert "first_name" in html and "Anna" in html and "shoe_size" in html and "38" in html
    assert "store" in html  # a defined attribute without a value is listed too
