import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from .models import Budget


class BudgetTable(tables.Table):
    campaign = tables.Column(orderable=False)
    action = tables.Column(orderable=False)
    limit = tables.Column(attrs={"td": {"class": "num"}}, orderable=False)
    period = tables.Column(verbose_name="Resets", orderable=False)
    active = tables.BooleanColumn(orderable=False)
    edit = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Budget
        empty_text = "No budgets yet."
        fields = ()
        sequence = ("campaign", "action", "limit", "period", "active", "edit")
        attrs = {"data-testid": "budgets-table"}

    def render_edit(self, record):
        return format_html(
            '<a class="button secondary small" href="{}">Edit</a>',
            reverse("budgets:budget_edit", args=[record.pk]),
        )
