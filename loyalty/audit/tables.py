import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from loyalty.console.columns import ChangesColumn, WhenColumn

from .models import ChangeLogEntry, ChangeRequest


def _customer_link(customer):
    if customer is None:
        return "—"
    if customer.anonymized_at:
        return format_html('<span class="muted">{} (anonymized)</span>', customer.customer_id)
    url = reverse("customers:customer_overview", kwargs={"ref": customer.customer_id})
    return format_html('<a href="{}">{}</a>', url, customer.customer_id)


class ChangeLogTable(tables.Table):
    created_at = WhenColumn(verbose_name="When")
    user = tables.Column(verbose_name="Who", default="system")
    action = tables.Column(verbose_name="What")
    customer = tables.Column(empty_values=(), verbose_name="Customer")
    reason = tables.Column()
    before = ChangesColumn(verbose_name="Change")
    after = tables.Column(visible=False)

    class Meta:
        model = ChangeLogEntry
        fields = ("created_at", "user", "action", "customer", "reason", "before", "after")
        orderable = False
        attrs = {"data-testid": "change-table"}
        empty_text = "No changes."

    def render_customer(self, record):
        return _customer_link(record.customer) if record.customer_id else (record.object_repr or "—")


class ChangeRequestTable(tables.Table):
    created_at = WhenColumn(verbose_name="Requested")
    requested_by = tables.Column(verbose_name="By")
    customer = tables.Column(empty_values=())
    action = tables.Column()
    data = tables.JSONColumn()
    reason = tables.Column()
    status = tables.Column()
    decide = tables.TemplateColumn(
        '{% if record.status == "pending" and perms.loyalty.approve_changes %}'
        '<a class="button small" href="{% url "audit:request_accept" record.pk %}">Accept</a> '
        '<a class="button small danger" href="{% url "audit:request_reject" record.pk %}">Reject</a>'
        '{% else %}{{ record.decided_by|default:"" }} {{ record.decision_note }}{% endif %}',
        verbose_name="",
        orderable=False,
    )

    class Meta:
        model = ChangeRequest
        fields = ("created_at", "requested_by", "customer", "action", "data", "reason", "status")
        orderable = False
        attrs = {"data-testid": "request-table"}
        empty_text = "No requests."

    def render_customer(self, record):
        return _customer_link(record.customer)
