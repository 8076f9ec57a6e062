"""Tables of the webhook pages."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from loyalty.console.columns import WhenColumn

from .choices import DeliveryStatus, IncomingStatus
from .models import Delivery, IncomingEndpoint, IncomingRequest, Subscription, TrustedSite

STATUS_ICON = {
    DeliveryStatus.QUEUED: "•",
    DeliveryStatus.RETRYING: "↻",
    DeliveryStatus.FAILED: "⚠",
    DeliveryStatus.DONE: "✓",
}


def _customer_link(customer):
    if customer is None:
        return "—"
    if customer.anonymized_at:
        return customer.customer_id
    return format_html(
        '<a href="{}">{}</a>',
        reverse("customers:customer_overview", args=[customer.customer_id]),
        customer.customer_id,
    )


class TrustedSiteTable(tables.Table):
    name = tables.Column(linkify=("webhooks:site_edit", {"pk": tables.A("pk")}))
    auth_method = tables.Column(verbose_name="Authentication method")
    url = tables.Column(verbose_name="URL", attrs={"td": {"class": "mono"}})
    content_type = tables.Column()
    secret_hint = tables.Column(verbose_name="Secret", orderable=False)
    circuit = tables.Column(empty_values=(), orderable=False, verbose_name="Circuit")

    class Meta:
        model = TrustedSite
        fields = ["name", "auth_method", "url", "content_type", "secret_hint", "active"]
        sequence = (*fields, "circuit")
        always_visible = ("name",)
        empty_text = "No trusted sites yet."
        attrs = {"data-testid": "trusted-sites"}

    def render_circuit(self, record):
        if record.circuit_open_until:
            return format_html("open until {}", record.circuit_open_until.strftime("%H:%M:%S"))
        return f"closed ({record.consecutive_failures} failures)" if record.consecutive_failures else "closed"


class SubscriptionTable(tables.Table):
    name = tables.Column(linkify=("webhooks:subscription_edit", {"pk": tables.A("pk")}))
    actions = tables.Column(orderable=False)

    class Meta:
        model = Subscription
        fields = ["name", "site", "environment", "actions", "path", "active"]
        always_visible = ("name",)
        empty_text = "No webhook subscriptions yet."
        attrs = {"data-testid": "subscriptions"}

    def render_actions(self, value):
        return ", ".join(value or [])


class DeliveryTable(tables.Table):
    select = tables.CheckBoxColumn(accessor="pk", attrs={"input": {"name": "ids"}}, orderable=False)
    created_at = WhenColumn(
        verbose_name="Created", linkify=("webhooks:delivery_detail", {"pk": tables.A("pk")})
    )
    site = tables.Column()
    action = tables.Column()
    customer = tables.Column(orderable=False)
    attempts = tables.Column()
    last_status_code = tables.Column(verbose_name="Response code")
    last_response = tables.Column(verbose_name="Response", orderable=False)
    duration_ms = tables.Column(verbose_name="Duration (ms)")
    status = tables.Column()
    next_attempt_at = WhenColumn(verbose_name="Next attempt")

    class Meta:
        model = Delivery
        fields = [
            "created_at",
            "site",
            "action",
            "customer",
            "attempts",
            "last_status_code",
            "last_response",
            "duration_ms",
            "status",
            "next_attempt_at",
        ]
        sequence = ("select", *fields)
        always_visible = ("created_at", "status")
        attrs = {"data-testid": "webhook-log"}
        empty_text = "No webhook messages."

    def render_customer(self, value):
        return _customer_link(value)

    def render_status(self, value, record):
        return format_html(
            '<span class="status status-{}">{} {}</span>',
            record.status,
            STATUS_ICON.get(record.status, ""),
            value,
        )

    def render_last_response(self, value, record):
        text = record.last_error or value
        return text[:120] + ("…" if len(text) > 120 else "")


class CustomerSyncTable(DeliveryTable):
    # The detail page is an administrator's; the tab shows each request and answer itself.
    created_at = WhenColumn(verbose_name="Created")

    class Meta(DeliveryTable.Meta):
        exclude = ("select", "customer")
        attrs = {"data-testid": "customer-sync"}
        empty_text = "Nothing was sent about this customer."


class IncomingEndpointTable(tables.Table):
    name = tables.Column(linkify=("webhooks:incoming_edit", {"pk": tables.A("pk")}))
    url = tables.Column(empty_values=(), orderable=False, verbose_name="URL")
    log = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = IncomingEndpoint
        fields = ["name", "method", "url", "environment", "action", "auth_method", "active"]
        sequence = (*fields, "log")
        always_visible = ("name",)
        empty_text = "No incoming webhooks yet."
        attrs = {"data-testid": "incoming-webhooks"}

    def render_url(self, record):
        return format_html('<span class="mono">/api/hooks/{}</span>', record.name)

    def render_log(self, record):
        return format_html('<a href="{}?endpoint={}">Log</a>', reverse("webhooks:incoming_log"), record.pk)


class IncomingRequestTable(tables.Table):
    received_at = WhenColumn(verbose_name="Received")
    endpoint = tables.Column(empty_values=())  # an unknown name shows the name
    status = tables.Column()
    http_status = tables.Column(verbose_name="Answer")
    reason = tables.Column(orderable=False)
    event = tables.Column(orderable=False)
    customer = tables.Column(orderable=False)
    body = tables.Column(orderable=False, verbose_name="Body")

    class Meta:
        model = IncomingRequest
        fields = [
            "received_at",
            "endpoint",
            "method",
            "status",
            "http_status",
            "code",
            "reason",
            "event",
            "customer",
            "body",
        ]
        always_visible = ("received_at", "status")
        attrs = {"data-testid": "incoming-log"}
        empty_text = "No requests received."

    def render_status(self, value, record):
        icon = {
            IncomingStatus.ACCEPTED: "✓",
            IncomingStatus.DUPLICATE: "↺",
            IncomingStatus.FILTERED: "∅",
        }.get(record.status, "⚠")
        return f"{icon} {value}"

    def render_endpoint(self, value, record):
        return value.name if value is not None else f"{record.endpoint_name} (unknown)"

    def render_event(self, record):
        return f"#{record.event_id} {record.event.action}" if record.event_id else "—"

    def render_customer(self, value):
        return _customer_link(value)

    def render_body(self, value):
        return value[:120] + ("…" if len(value) > 120 else "")
