"""Included by loyalty/api/urls.py (namespace `api`) before its catch-all."""

from django.urls import re_path

from . import views

REF = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(rf"^customers/{REF}/rewards/?$", views.CustomerRewardsView.as_view(), name="customer_rewards"),
    re_path(
        rf"^customers/{REF}/rewards/(?P<reward>[^/]+)/claim/?$",
        views.CustomerRewardClaimView.as_view(),
        name="customer_reward_claim",
    ),
    re_path(rf"^customers/{REF}/coupons/?$", views.CustomerCouponsView.as_view(), name="customer_coupons"),
    re_path(r"^coupons/(?P<code>[^/]+)/redeem/?$", views.CouponRedeemView.as_view(), name="coupon_redeem"),
]
