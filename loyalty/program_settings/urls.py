"""Settings area of the console (administrators): program, accounts, tiers (custom fields: customers/urls.py)."""

from django.urls import path

from . import views

app_name = "settings"

urlpatterns = [
    path("", views.ProgramSettingsView.as_view(), name="program"),
    path("accounts/", views.PointAccountListView.as_view(), name="account_list"),
    path("accounts/add/", views.PointAccountEditView.as_view(), name="account_add"),
    path("accounts/<int:pk>/", views.PointAccountEditView.as_view(), name="account_edit"),
    path("tiers/", views.TierStructureListView.as_view(), name="tier_structure_list"),
    path("tiers/add/", views.TierStructureEditView.as_view(), name="tier_structure_add"),
    path("tiers/<int:pk>/", views.TierStructureEditView.as_view(), name="tier_structure_edit"),
]
