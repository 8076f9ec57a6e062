from django.urls import path

from . import views

app_name = "referrals"

C = "customer/<str:ref>/"

urlpatterns = [
    path("export/", views.ExportCodesView.as_view(), name="export_codes"),
    path(C, views.CustomerReferralsView.as_view(), name="customer_referrals"),
    path(C + "create-code/", views.CreateCodeView.as_view(), name="customer_create_code"),
]
