from django.urls import path

from . import views

app_name = "webhooks"

S = "settings/webhooks/"
IN = "settings/incoming-webhooks/"

urlpatterns = [
    path("settings/trusted-sites/", views.SiteListView.as_view(), name="site_list"),
    path("settings/trusted-sites/add/", views.SiteEditView.as_view(), name="site_add"),
    path("settings/trusted-sites/<int:pk>/", views.SiteEditView.as_view(), name="site_edit"),
    path(S, views.SubscriptionListView.as_view(), name="subscription_list"),
    path(S + "add/", views.SubscriptionEditView.as_view(), name="subscription_add"),
    path(S + "<int:pk>/", views.SubscriptionEditView.as_view(), name="subscription_edit"),
    path(S + "settings/", views.WebhookSettingsView.as_view(), name="settings"),
    path(S + "log/", views.DeliveryListView.as_view(), name="delivery_list"),
    path(S + "log/<int:pk>/", views.DeliveryDetailView.as_view(), name="delivery_detail"),
    path(S + "dead-letters/", views.DeadLetterListView.as_view(), name="dead_letter_list"),
    path(S + "replay/", views.ReplayView.as_view(), name="delivery_replay"),
    path(IN, views.IncomingListView.as_view(), name="incoming_list"),
    path(IN + "new/", views.IncomingBlueprintsView.as_view(), name="incoming_blueprints"),
    path(IN + "add/", views.IncomingEditView.as_view(), name="incoming_add"),
    path(IN + "<int:pk>/", views.IncomingEditView.as_view(), name="incoming_edit"),
    path(IN + "<int:pk>/toggle/", views.IncomingToggleView.as_view(), name="incoming_toggle"),
    path(IN + "log/", views.IncomingLogView.as_view(), name="incoming_log"),
    path("customers/<str:ref>/sync/", views.CustomerSyncView.as_view(), name="customer_sync"),
    path("customers/<str:ref>/resync/", views.ResyncView.as_view(), name="customer_resync"),
]
