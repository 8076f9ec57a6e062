import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from loyalty.console.columns import MoneyColumn, NumberColumn, WhenColumn

from .models import EarningRule, Transaction


class TransactionTable(tables.Table):
    """000 "Transactions": account, transaction ID, checkout date, points rewarded / burned, status."""

    account = tables.Column(accessor="account__name", verbose_name="Account", orderable=False)
    transaction_id = tables.Column(
        verbose_name="Transaction ID", attrs={"td": {"class": "mono"}}, orderable=False
    )
    customer = tables.Column(accessor="customer__customer_id", verbose_name="Customer", orderable=False)
    checkout_at = WhenColumn(verbose_name="Checkout date", orderable=False)
    total = MoneyColumn(currency_accessor="currency", orderable=False)
    points_earned = NumberColumn(verbose_name="Points rewarded", orderable=False)
    points_burned = NumberColumn(verbose_name="Points burned", orderable=False)
    status = tables.Column(orderable=False)
    details = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Transaction
        empty_text = "No transactions match."
        fields = ()
        sequence = (
            "account",
            "transaction_id",
            "customer",
            "checkout_at",
            "total",
            "points_earned",
            "points_burned",
            "status",
            "details",
        )
        always_visible = ("transaction_id", "details")
        attrs = {"data-testid": "transactions-table"}

    def render_customer(self, value, record):
        if record.customer is None:
            return format_html('<span class="muted">guest {}</span>', record.guest)
        url = reverse("customers:customer_overview", kwargs={"ref": value})
        return format_html('<a href="{}">{}</a>', url, value)

    def render_status(self, value, record):
        return format_html('<span class="badge status-{}">{}</span>', record.status, value)

    def render_details(self, record):
        url = reverse("transactions:transaction_detail", kwargs={"pk": record.pk})
        return format_html('<a class="button secondary small" href="{}">Details</a>', url)


class CustomerTransactionTable(TransactionTable):
    class Meta(TransactionTable.Meta):
        empty_text = "No transactions for this customer."
        exclude = ("customer",)


class EarningRuleTable(tables.Table):
    account = tables.Column(accessor="account__name", orderable=False)
    mode = tables.Column(orderable=False)
    points_per_unit = tables.Column(verbose_name="Points per unit", orderable=False)
    rounding = tables.Column(orderable=False)
    minimum_total = tables.Column(orderable=False)
    first_purchase_bonus = tables.Column(verbose_name="First-purchase bonus", orderable=False)
    active = tables.BooleanColumn(orderable=False)
    edit = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = EarningRule
        empty_text = "No earning rules yet."
        fields = ()
        sequence = (
            "account",
            "mode",
            "points_per_unit",
            "rounding",
            "minimum_total",
            "first_purchase_bonus",
            "active",
            "edit",
        )

    def render_edit(self, record):
        url = reverse("transactions:earning_rule_edit", kwargs={"pk": record.pk})
        return format_html('<a class="button secondary small" href="{}">Edit</a>', url)
