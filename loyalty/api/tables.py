"""The API-key list's table and filters (an ObjectListView page)."""

import django_filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from loyalty.choices import Environment
from loyalty.console.columns import WhenColumn
from loyalty.console.filters import SearchFilterSet

from .models import ApiKey

STATUS_CHOICES = [("active", "Active"), ("revoked", "Revoked")]


class ApiKeyFilterSet(SearchFilterSet):
    search_fields = ("name", "key")
    environment = django_filters.ChoiceFilter(choices=Environment.choices, empty_label="Any environment")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="by_status", empty_label="Any status")

    class Meta:
        model = ApiKey
        fields = ["q", "environment", "status"]

    def by_status(self, queryset, name, value):
        return queryset.filter(revoked_at__isnull=value == "active")


class ApiKeyTable(tables.Table):
    name = tables.Column()
    key = tables.Column(attrs={"td": {"class": "mono"}})
    environment = tables.Column()
    scopes = tables.Column(orderable=False)
    rate_limit = tables.Column(verbose_name="Rate limit")
    created_at = WhenColumn(verbose_name="Created")
    last_used_at = WhenColumn(verbose_name="Last used")
    status = tables.Column(empty_values=(), orderable=False, accessor="revoked_at")
    manage = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = ApiKey
        fields = ["name", "key", "environment", "scopes", "rate_limit", "created_at", "last_used_at"]
        sequence = (*fields, "status", "manage")
        always_visible = ("name", "manage")
        empty_text = "No API keys yet."
        attrs = {"data-testid": "api-keys"}

    def render_scopes(self, value):
        return ", ".join(value or [])

    def render_rate_limit(self, value):
        return f"{value}/min"

    def render_status(self, record):
        if record.revoked_at:
            return format_html(
                '<span class="badge">Revoked {}</span>', record.revoked_at.strftime("%Y-%m-%d")
            )
        unsigned = (
            format_html(
                ' <span class="badge status-pending" title="for testing only">Unsigned allowed</span>'
            )
            if record.allow_unsigned
            else ""
        )
        return format_html('<span class="badge status-active">Active</span>{}', unsigned)

    def render_manage(self, record):
        if record.revoked_at:
            return ""
        return format_html(
            '<a href="{}">Rotate</a> · <a href="{}">Revoke</a>',
            reverse("api_keys:api_key_rotate", args=[record.pk]),
            reverse("api_keys:api_key_revoke", args=[record.pk]),
        )
