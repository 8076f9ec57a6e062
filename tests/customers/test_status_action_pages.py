"""Status actions on the profile, declared with the view-test base classes (tests/viewtests.py)."""

from django.urls import reverse

from coupons.pools import import_codes
from tests import factories
from tests.factories import register
from tests.viewtests import ViewTestCases


class TestSuspendPage(ViewTestCases.EventActionView):
    url_name = "customers:customer_suspend"
    action = "suspend"


class TestUnsuspendPage(ViewTestCases.EventActionView):
    url_name = "customers:customer_unsuspend"
    action = "unsuspend"

    def make_customer(self):
        customer = factories.anna()
        register("suspend", customer.customer_id)
        return customer


class TestBanPage(ViewTestCases.EventActionView):
    url_name = "customers:customer_ban"
    action = "ban"


class TestInvalidateCouponPage(ViewTestCases.EventActionView):
    url_name = "coupons:coupon_invalidate"
    action = "coupon_invalidate"

    def make_customer(self):
        customer = factories.anna()
        import_codes(factories.CouponPoolFactory(), "INV-1\n")
        register("coupon_assign", customer.customer_id, {"code": "INV-1"})
        return customer

    def url(self, customer):
        return reverse(self.url_name, kwargs={"ref": customer.customer_id, "code": "INV-1"})
