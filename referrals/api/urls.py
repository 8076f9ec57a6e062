from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^referrals/?$", views.ReferralCreateView.as_view(), name="referrals"),
    re_path(r"^referrals/import/?$", views.ReferralImportView.as_view(), name="referrals_import"),
    re_path(
        r"^customers/(?P<id>[^/]+)/referrals/?$",
        views.CustomerReferralsView.as_view(),
        name="customer_referrals",
    ),
    re_path(
        r"^customers/(?P<id>[^/]+)/friends/?$", views.CustomerFriendsView.as_view(), name="customer_friends"
    ),
]
