from django.urls import path

from . import views

app_name = "coupons"

# Mounted at the site root: the catalog under /coupons/, the customer's tab and coupon actions
# under the profile, /customers/<ref>/coupons/ (every profile tab lives under /customers/<ref>/).
P = "coupons/"
C = "customers/<str:ref>/coupons/"
COUPON = C + "<str:code>/"

urlpatterns = [
    path(P, views.PoolListView.as_view(), name="pool_list"),
    path(P + "pools/add/", views.PoolEditView.as_view(), name="pool_add"),
    path(P + "pools/<int:pk>/", views.PoolEditView.as_view(), name="pool_edit"),
    path(P + "pools/<int:pk>/codes/", views.PoolCodesView.as_view(), name="pool_codes"),
    path(P + "pools/<int:pk>/generate/", views.GenerateCodesView.as_view(), name="pool_generate"),
    path(P + "pools/<int:pk>/import/", views.ImportCodesView.as_view(), name="pool_import"),
    path(P + "rewards/", views.RewardListView.as_view(), name="reward_list"),
    path(P + "rewards/add/", views.RewardEditView.as_view(), name="reward_add"),
    path(P + "rewards/<int:pk>/", views.RewardEditView.as_view(), name="reward_edit"),
    path(C, views.CustomerCouponsView.as_view(), name="customer_coupons"),
    path("customers/<str:ref>/rewards/claim/", views.ClaimRewardView.as_view(), name="customer_claim_reward"),
    path(COUPON + "redeem/", views.RedeemCouponView.as_view(), name="coupon_redeem"),
    path(COUPON + "invalidate/", views.InvalidateCouponView.as_view(), name="coupon_invalidate"),
    path(COUPON + "unassign/", views.UnassignCouponView.as_view(), name="coupon_unassign"),
    path(COUPON + "transfer/", views.TransferCouponView.as_view(), name="coupon_transfer"),
    path(COUPON + "expiration/", views.CouponExpirationView.as_view(), name="coupon_expiration"),
]
