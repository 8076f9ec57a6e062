from django.urls import path

from . import views

app_name = "coupons"

C = "customer/<str:ref>/"
COUPON = C + "coupon/<str:code>/"

urlpatterns = [
    path("", views.PoolListView.as_view(), name="pool_list"),
    path("pools/add/", views.PoolEditView.as_view(), name="pool_add"),
    path("pools/<int:pk>/", views.PoolEditView.as_view(), name="pool_edit"),
    path("pools/<int:pk>/codes/", views.PoolCodesView.as_view(), name="pool_codes"),
    path("pools/<int:pk>/generate/", views.GenerateCodesView.as_view(), name="pool_generate"),
    path("pools/<int:pk>/import/", views.ImportCodesView.as_view(), name="pool_import"),
    path("rewards/", views.RewardListView.as_view(), name="reward_list"),
    path("rewards/add/", views.RewardEditView.as_view(), name="reward_add"),
    path("rewards/<int:pk>/", views.RewardEditView.as_view(), name="reward_edit"),
    path(C, views.CustomerCouponsView.as_view(), name="customer_coupons"),
    path(C + "claim-reward/", views.ClaimRewardView.as_view(), name="customer_claim_reward"),
    path(COUPON + "redeem/", views.RedeemCouponView.as_view(), name="coupon_redeem"),
    path(COUPON + "invalidate/", views.InvalidateCouponView.as_view(), name="coupon_invalidate"),
    path(COUPON + "unassign/", views.UnassignCouponView.as_view(), name="coupon_unassign"),
    path(COUPON + "transfer/", views.TransferCouponView.as_view(), name="coupon_transfer"),
    path(COUPON + "expiration/", views.CouponExpirationView.as_view(), name="coupon_expiration"),
]
