"""Settings area of the console (administrators): program, accounts, tiers, custom fields."""

from django.urls import path

from . import views

app_name = "settings"

urlpatterns = [
    path("", views.ProgramSettingsView.as_view(), name="program"),
    path("accounts/", views.PointAccountListView.as_view(), name="account_list"),
    path("accounts/new/", views.PointAccountEditView.as_view(), name="account_create"),
    path("accounts/<int:pk>/", views.PointAccountEditView.as_view(), name="account_edit"),
    path("tiers/", views.TierStructureListView.as_view(), name="tier_structure_list"),
    path("tiers/new/", views.TierStructureEditView.as_view(), name="tier_structure_create"),
    path("tiers/<int:pk>/", views.TierStructureEditView.as_view(), name="tier_structure_edit"),
    path("fields/", views.CustomFieldListView.as_view(), name="custom_field_list"),
    path("fields/new/", views.CustomFieldEditView.as_view(), name="custom_field_create"),
    path("fields/<int:pk>/", views.CustomFieldEditView.as_view(), name="custom_field_edit"),
]
