"""Included by loyalty/api/urls.py (namespace `api`) before its catch-all."""

from django.urls import re_path

from . import display, entities, pools, views

REF = r"(?P<id>[^/]+)"

urlpatterns = [
    re_path(rf"^customers/{REF}/rewards/?$", display.ClaimedRewardsView.as_view(), name="customer_rewards"),
    re_path(
        rf"^customers/{REF}/activities/rewards/?$",
        display.ActivityRewardsView.as_view(),
        name="activity_rewards",
    ),
    re_path(
        rf"^customers/{REF}/activities/rewards/(?P<reward>[^/]+)/?$",
        display.ActivityRewardView.as_view(),
        name="activity_reward",
    ),
    re_path(
        rf"^customers/{REF}/activities/rewards/(?P<reward>[^/]+)/claim/?$",
        display.RewardClaimView.as_view(),
        name="activity_reward_claim",
    ),
    re_path(
        rf"^customers/{REF}/activities/rewards/(?P<reward>[^/]+)/revoke/?$",
        display.RewardRevokeView.as_view(),
        name="activity_reward_revoke",
    ),
    re_path(
        rf"^customers/{REF}/activities/rewards/(?P<reward>[^/]+)/bid/?$",
        display.RewardBidView.as_view(),
        name="activity_reward_bid",
    ),
    re_path(
        rf"^customers/{REF}/rewards/(?P<reward>[^/]+)/claim/?$",
        views.CustomerRewardClaimView.as_view(),
        name="customer_reward_claim",
    ),
    re_path(rf"^customers/{REF}/coupons/?$", views.CustomerCouponsView.as_view(), name="customer_coupons"),
    re_path(r"^coupons/?$", views.ProgramCouponsView.as_view(), name="coupons"),
    re_path(r"^entities/rewards/reward/?$", entities.RewardEntitiesView.as_view(), name="reward_entities"),
    re_path(
        r"^entities/rewards/reward/(?P<entity_id>[^/]+)/?$",
        entities.RewardEntityView.as_view(),
        name="reward_entity",
    ),
    re_path(r"^v1/coupon-pools/?$", pools.CouponPoolCreateView.as_view(), name="coupon_pools"),
    re_path(
        r"^v1/coupon-pools/(?P<coupon_pool_id>[^/]+)/?$", pools.CouponPoolView.as_view(), name="coupon_pool"
    ),
    re_path(
        r"^v1/coupon-pools/(?P<coupon_pool_id>[^/]+)/update/?$",
        pools.CouponPoolUpdateView.as_view(),
        name="coupon_pool_update",
    ),
    re_path(r"^coupons/(?P<code>[^/]+)/redeem/?$", views.CouponRedeemView.as_view(), name="coupon_redeem"),
]
