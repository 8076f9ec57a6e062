"""Settings area of the console (administrators): program, accounts, tiers, custom fields."""

from django.urls import path  # noqa: F401

app_name = "settings"

urlpatterns: list = []
