import django_tables2 as tables
from django.utils.html import format_html

from loyalty.console.columns import WhenColumn

from .models import CardRegistration, LoyaltyCard


class CardTable(tables.Table):
    code = tables.Column(verbose_name="Code", attrs={"td": {"class": "mono"}}, orderable=False)
    status = tables.Column(orderable=False)
    batch_id = tables.Column(verbose_name="Batch", orderable=False)
    block_reason = tables.Column(verbose_name="Block reason", orderable=False)
    created_at = WhenColumn(verbose_name="Created", orderable=False)

    class Meta:
        model = LoyaltyCard
        empty_text = "No loyalty cards yet."
        fields = ()
        sequence = ("code", "status", "batch_id", "block_reason", "created_at")
        always_visible = ("code",)
        attrs = {"data-testid": "cards-table"}

    def render_status(self, value, record):
        return format_html('<span class="badge status-{}">{}</span>', record.status, value)


class CustomerCardTable(tables.Table):
    """003's Loyalty cards tab: code, status, registered."""

    code = tables.Column(
        accessor="card__code", verbose_name="Code", attrs={"td": {"class": "mono"}}, orderable=False
    )
    status = tables.Column(accessor="card__status", verbose_name="Status", orderable=False)
    registered_at = WhenColumn(verbose_name="Registered", orderable=False)

    class Meta:
        model = CardRegistration
        empty_text = "No cards registered to this customer."
        fields = ()
        sequence = ("code", "status", "registered_at")
        attrs = {"data-testid": "customer-cards-table"}
