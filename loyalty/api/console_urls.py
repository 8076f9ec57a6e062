"""Console pages for API keys; included by loyalty/urls.py at /api-keys/."""

from django.urls import path

from . import console_views as views

app_name = "api_keys"

urlpatterns = [
    path("", views.ApiKeyListView.as_view(), name="list"),
    path("new/", views.ApiKeyCreateView.as_view(), name="create"),
    path("<int:pk>/rotate/", views.ApiKeyRotateView.as_view(), name="rotate"),
    path("<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="revoke"),
]
