"""Tables of the customer console (django-tables2)."""

from __future__ import annotations

import html
from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, mark_safe
from django_tables2.data import TableListData

from customers.models import Customer, CustomField, Label
from loyalty import clock
from loyalty.console.columns import NumberColumn
from loyalty.console.formatting import number_text, time_html
from loyalty.tiers import first_structure_tiers


class PreorderedData(TableListData):
    """Rows already sorted (and paged by keyset) in the database: the table only renders them.
    Re-sorting in Python would disagree with the database's collation."""

    def order_by(self, aliases):
        pass


def profile_url(customer) -> str:
    # reverse() once per process: on a 50-row page, 100 reverse() calls cost more than the query.
    global _PROFILE_URL
    if _PROFILE_URL is None:
        _PROFILE_URL = reverse("customers:customer_overview", kwargs={"ref": "REF"}).replace("REF", "{}")
    return _PROFILE_URL.format(quote(customer.customer_id, safe=""))


_PROFILE_URL: str | None = None


def _local(value) -> str:
    """The console's one date-time format, in the program's zone, full timestamp on hover."""
    return time_html(value)


class CustomerTable(tables.Table):
    # `order_by` names the indexed column each sortable header sorts on; see CustomerListView.SORTS.
    name = tables.Column(empty_values=(), order_by=("last_name",), verbose_name="Name")
    email = tables.Column()
    score = tables.Column(attrs={"td": {"class": "num"}})
    spent = tables.Column(attrs={"td": {"class": "num"}})
    expired = tables.Column(attrs={"td": {"class": "num"}})
    spendable = tables.Column(attrs={"td": {"class": "num"}})
    # Plain columns rendered in Python: a TemplateColumn (DateTimeColumn) renders a template with
    # the request's context processors for every cell, which costs more than the whole page's SQL.
    last_login_at = tables.Column(verbose_name="Last login", orderable=False, empty_values=())
    last_activity_at = tables.Column(verbose_name="Last activity", orderable=False, empty_values=())
    created_at = tables.Column(verbose_name="Created", orderable=False, empty_values=())
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
            "last_activity_at",
            "created_at",
            "customer_id",
            "status",
            "tier",
            "open",
        )
        always_visible = ("name", "open")
        attrs = {"class": "customer-table", "data-testid": "customer-table"}
        empty_text = "No customers match."
        template_name = "customers/customer_table.html"

    def fast_rows(self) -> list[list[tuple[str, str]]]:
        """[(css class, cell html)] per row for the visible columns, rendered straight in Python.

        django-tables2's per-cell machinery (signature inspection, accessors, attrs) costs ~0.1 ms
        a cell; on a 50-row page that is most of the request, so the list renders its cells here."""
        classes = {
            "score": "num",
            "spent": "num",
            "expired": "num",
            "spendable": "num",
            "customer_id": "mono",
        }
        renderers = {
            "name": self.render_name,
            "email": lambda r: conditional_escape(r.email),
            "score": lambda r: number_text(r.score),
            "spent": lambda r: number_text(r.spent),
            "expired": lambda r: number_text(r.expired),
            "spendable": lambda r: number_text(r.spendable),
            "last_login_at": self.render_last_login_at,
            "last_activity_at": lambda r: _local(r.last_activity_at),
            "created_at": lambda r: _local(r.created_at),
            "customer_id": lambda r: conditional_escape(r.customer_id),
            "status": self.render_status,
            "tier": lambda r: conditional_escape(self.tier_now(r).name) if r.tier_id else "—",
            "open": self.render_open,
        }
        visible = [(name, classes.get(name, "")) for name, column in self.columns.items() if column.visible]
        return [[(css, renderers[name](record)) for name, css in visible] for record in self.data]

    def rows_html(self) -> str:
        """The table body's rows as one HTML string: fast_rows joined here rather than by a
        template loop over every cell (a template tag and an escape call per cell were a third of
        a 50-row page's CPU time). Plain text cells are escaped; safe HTML passes through."""
        out = []
        for cells in self.fast_rows():
            out.append("<tr>")
            for css, cell in cells:
                text = cell if isinstance(cell, SafeData) else html.escape(str(cell))
                out.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
            out.append("</tr>\n")
        return mark_safe("".join(out))  # noqa: S308 - every cell is escaped or already safe above

    def tier_now(self, record):
        """The record's first-structure tier as it is now: Customer.tier is the stored mirror; a
        row due for review is recomputed (loyalty.tiers.first_structure_tiers, once per page)."""
        if not hasattr(self, "_tiers_now"):
            records = list(self.data)
            self._tiers_now = (
                first_structure_tiers(records, clock.now(records[0].environment)) if records else {}
            )
        return self._tiers_now.get(record.pk, record.tier)

    def render_tier(self, record):
        return self.tier_now(record).name if record.tier_id else "—"

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

    def render_last_activity_at(self, record):
        return _local(record.last_activity_at)

    def render_created_at(self, record):
        return _local(record.created_at)

    def render_last_login_at(self, record):
        return _local(record.last_login_at)

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
    customer_count = NumberColumn(verbose_name="Customers", orderable=False)
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
        empty_text = "No customers carry this label."
        fields = ("customer_id", "status", "first_name", "last_name")
        orderable = False


class CustomFieldTable(tables.Table):
    name = tables.LinkColumn("customers:custom_field_edit", args=[tables.A("pk")])
    required_on_opt_in = tables.BooleanColumn(verbose_name="Required")
    read_only = tables.BooleanColumn()
    searchable = tables.BooleanColumn()
    external_id = tables.BooleanColumn(verbose_name="External ID")

    class Meta:
        model = CustomField
        fields = [
            "name",
            "label",
            "type",
            "required_on_opt_in",
            "read_only",
            "searchable",
            "external_id",
            "position",
        ]
        always_visible = ("name",)
        empty_text = "No custom fields yet."
