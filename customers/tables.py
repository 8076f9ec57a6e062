"""Tables of the customer console (django-tables2)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django_tables2.data import TableListData

from customers.models import Customer, Label


class PreorderedData(TableListData):
    """Rows already sorted (and paged by keyset) in the database: the table only renders them.
    Re-sorting in Python would disagree with the database's collation."""

    def order_by(self, aliases):
        pass


def profile_url(customer) -> str:
    return reverse("customers:customer_overview", kwargs={"ref": customer.customer_id})


class CustomerTable(tables.Table):
    # `order_by` names the indexed column each sortable header sorts on; see CustomerListView.SORTS.
    name = tables.Column(empty_values=(), order_by=("last_name",), verbose_name="Name")
    email = tables.Column()
    score = tables.Column(attrs={"td": {"class": "num"}})
    spent = tables.Column(attrs={"td": {"class": "num"}})
    expired = tables.Column(attrs={"td": {"class": "num"}})
    spendable = tables.Column(attrs={"td": {"class": "num"}})
    last_login_at = tables.DateTimeColumn(verbose_name="Last login", orderable=False, format="Y-m-d H:i")
    customer_id = tables.Column(verbose_name="ID", attrs={"td": {"class": "mono"}})
    status = tables.Column(orderable=False)
    tier = tables.Column(accessor="tier__name", orderable=False, verbose_name="Tier")
    open = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = Customer
        fields = ()
        sequence = (
            "name",
            "email",
            "score",
            "spent",
            "expired",
            "spendable",
            "last_login_at",
            "customer_id",
            "status",
            "tier",
            "open",
        )
        always_visible = ("name", "open")
        attrs = {"class": "customer-table", "data-testid": "customer-table"}
        empty_text = "No customers match."

    def render_name(self, record):
        label = record.name or "—"
        flag = (
            ""
            if record.status == "active"
            else format_html(
                ' <span class="badge status-{}">{}</span>',
                record.status.replace("_", ""),
                record.get_status_display(),
            )
        )
        return format_html('<a href="{}">{}</a>{}', profile_url(record), label, flag)

    def render_status(self, record):
        return format_html(
            '<span class="badge status-{}">{}</span>',
            record.status.replace("_", ""),
            record.get_status_display(),
        )

    def render_open(self, record):
        return format_html('<a class="button secondary small" href="{}">Open</a>', profile_url(record))


class LabelTable(tables.Table):
    name = tables.Column(
        verbose_name="Identifier", linkify=("customers:label_customers", {"pk": tables.A("pk")})
    )
    active = tables.BooleanColumn(verbose_name="Status", yesno="Active,Inactive")
    customer_count = tables.Column(verbose_name="Customers", orderable=False, attrs={"td": {"class": "num"}})
    actions = tables.TemplateColumn(
        '<a class="button secondary small" href="{% url "customers:label_customers" record.pk %}">View</a>'
        '{% if perms.loyalty.manage_labels %} <a class="button secondary small" '
        'href="{% url "customers:label_edit" record.pk %}">Edit</a>{% endif %}',
        orderable=False,
        verbose_name="",
    )

    class Meta:
        model = Label
        fields = ("name", "active")
        sequence = ("name", "active", "customer_count", "actions")
        attrs = {"data-testid": "label-table"}
        empty_text = "No labels yet."


class LabelCustomerTable(tables.Table):
    customer_id = tables.Column(verbose_name="Identifier", linkify=lambda record: profile_url(record))
    status = tables.Column()
    first_name = tables.Column()
    last_name = tables.Column()

    class Meta:
        model = Customer
        fields = ("customer_id", "status", "first_name", "last_name")
        orderable = False
