"""Coupon pool and reward list and edit pages, declared with the view-test base classes
(tests/viewtests.py)."""

from loyalty.ledger.accounts import default_account
from tests import factories
from tests.viewtests import ViewTestCases


class TestPoolList(ViewTestCases.ListView):
    url_name = "coupons:pool_list"
    factory = factories.CouponPoolFactory


class TestPoolEdit(ViewTestCases.EditView):
    add_url_name = "coupons:pool_add"
    edit_url_name = "coupons:pool_edit"
    factory = factories.CouponPoolFactory
    form_data = {
        "name": "Five off",
        "type": "amount",
        "value": "5.00",
        "usage_limit": "1",
        "code_pattern": "FIVE-????",
        "active": "on",
    }
    invalid_form_data = {"name": "", "type": "amount", "value": "5", "usage_limit": "1"}


class TestRewardList(ViewTestCases.ListView):
    url_name = "coupons:reward_list"
    factory = factories.RewardFactory


class TestRewardEdit(ViewTestCases.EditView):
    add_url_name = "coupons:reward_add"
    edit_url_name = "coupons:reward_edit"
    factory = factories.RewardFactory
    form_data = {"name": "Tote bag", "points": "300", "gives": "nothing", "points_given": "0", "active": "on"}
    invalid_form_data = {"name": "Tote bag", "points": "300", "gives": "coupon", "points_given": "0"}
    error_text = "pool"

    def form(self, **changes):
        return {**super().form(**changes), "account": default_account().pk}
