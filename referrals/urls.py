from django.urls import path

from . import views

app_name = "referrals"

A = "referrals/"
C = "customers/<str:ref>/referrals/"

urlpatterns = [
    path(A + "export/", views.ExportCodesView.as_view(), name="export_codes"),
    path(A + "import/", views.ImportCodesView.as_view(), name="import_codes"),
    path(C, views.CustomerReferralsView.as_view(), name="customer_referrals"),
    path(C + "create-code/", views.CreateCodeView.as_view(), name="customer_create_code"),
]
