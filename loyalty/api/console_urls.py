"""Console pages for API keys; included by loyalty/urls.py at /api-keys/."""

from django.urls import path

from . import console_views as views

app_name = "api_keys"

urlpatterns = [
    path("", views.ApiKeyListView.as_view(), name="api_key_list"),
    path("add/", views.ApiKeyCreateView.as_view(), name="api_key_add"),
    path("<int:pk>/rotate/", views.ApiKeyRotateView.as_view(), name="api_key_rotate"),
    path("<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
]
