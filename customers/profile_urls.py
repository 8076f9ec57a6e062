"""URLs of the Loyalty points and Attributes tabs, included by customers/urls.py."""

from django.urls import path

from .views import attributes_tab, ledgers

C = "customers/<str:ref>/"

urlpatterns = [
    path(C + "attributes/", attributes_tab.CustomerAttributesView.as_view(), name="customer_attributes"),
    path(C + "loyalty-points/", ledgers.CustomerLoyaltyPointsView.as_view(), name="customer_loyalty_points"),
    path(C + "loyalty-points/add/", ledgers.AddPointsView.as_view(), name="customer_ledger_add"),
    path(C + "loyalty-points/deduct/", ledgers.DeductPointsView.as_view(), name="customer_ledger_deduct"),
    path(
        C + "loyalty-points/subledger/",
        ledgers.CreateSubledgerView.as_view(),
        name="customer_subledger_create",
    ),
    path(C + "loyalty-points/export/", ledgers.ExportLogView.as_view(), name="customer_ledger_export"),
]
