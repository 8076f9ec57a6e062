"""Customer console URLs. A profile is `/customers/<ref>/...` where ref is the customer ID or an
external ID written `field:value`; every tab and action takes `ref`."""

from django.urls import path

from . import profile_urls, views

app_name = "customers"

C = "customers/<str:ref>/"

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer_list"),
    # "-" is no customer ID (the API uses /customers/-/ the same way).
    path("customers/-/add/", views.CustomerCreateView.as_view(), name="customer_add"),
    # Profile tabs
    path(C, views.CustomerOverviewView.as_view(), name="customer_overview"),
    path(C + "personal/", views.CustomerPersonalView.as_view(), name="customer_personal"),
    path(C + "events/", views.CustomerEventsView.as_view(), name="customer_events"),
    path(C + "events/add/", views.AddEventView.as_view(), name="customer_add_event"),
    path(C + "events/<int:event_id>/", views.CustomerEventDetailView.as_view(), name="customer_event_detail"),
    path(C + "points/", views.CustomerPointsView.as_view(), name="customer_points"),
    path(C + "points/manage/", views.ManagePointsView.as_view(), name="customer_manage_points"),
    path(C + "points/expiration/", views.ChangeExpirationView.as_view(), name="customer_change_expiration"),
    path(C + "tiers/", views.CustomerTiersView.as_view(), name="customer_tiers"),
    path(C + "changes/", views.CustomerChangesView.as_view(), name="customer_changes"),
    # Header actions
    path(C + "merge/", views.MergeView.as_view(), name="customer_merge"),
    path(C + "suspend/", views.SuspendView.as_view(), name="customer_suspend"),
    path(C + "unsuspend/", views.UnsuspendView.as_view(), name="customer_unsuspend"),
    path(C + "ban/", views.BanView.as_view(), name="customer_ban"),
    path(C + "unban/", views.UnbanView.as_view(), name="customer_unban"),
    path(C + "opt-out/", views.OptOutView.as_view(), name="customer_opt_out"),
    path(C + "tier/up/", views.TierUpView.as_view(), name="customer_tier_up"),
    path(C + "tier/down/", views.TierDownView.as_view(), name="customer_tier_down"),
    path(C + "tier/remove/", views.TierRemoveView.as_view(), name="customer_tier_remove"),
    path(C + "tier/expiration/", views.TierExpirationView.as_view(), name="customer_tier_expiration"),
    # Custom field definitions: a section of Settings, defined by this app
    path("settings/fields/", views.CustomFieldListView.as_view(), name="custom_field_list"),
    path("settings/fields/add/", views.CustomFieldEditView.as_view(), name="custom_field_add"),
    path("settings/fields/<int:pk>/", views.CustomFieldEditView.as_view(), name="custom_field_edit"),
    *profile_urls.urlpatterns,  # Loyalty points and Attributes tabs
    # Labels
    path("labels/", views.LabelListView.as_view(), name="label_list"),
    path("labels/add/", views.LabelEditView.as_view(), name="label_add"),
    path("labels/<int:pk>/", views.LabelCustomersView.as_view(), name="label_customers"),
    path("labels/<int:pk>/edit/", views.LabelEditView.as_view(), name="label_edit"),
]
