"""Tables of the settings area's lists (ObjectListView pages)."""

import django_tables2 as tables

from loyalty.console.columns import WhenColumn
from loyalty.console.formatting import number_text
from loyalty.models import PointAccount, TierStructure
from loyalty.models.ledger import ExpirationRule


class PointAccountTable(tables.Table):
    code = tables.LinkColumn("settings:account_edit", args=[tables.A("pk")])
    is_default = tables.BooleanColumn(verbose_name="Default")
    expiration = tables.Column(empty_values=(), orderable=False, verbose_name="Expiration")
    created_at = WhenColumn(verbose_name="Created at")

    class Meta:
        model = PointAccount
        fields = ["code", "name", "is_default", "expiration", "created_at"]
        always_visible = ("code",)
        empty_text = "No point accounts match."

    def render_expiration(self, record):
        if record.expiration_rule == ExpirationRule.NONE:
            return "Never"
        if record.expiration_rule == ExpirationRule.ABSOLUTE:
            return f"Every {record.expiration_date}"
        return f"{record.get_expiration_rule_display()}: {record.expiration_period} {record.expiration_unit}"


class TierStructureTable(tables.Table):
    code = tables.LinkColumn("settings:tier_structure_edit", args=[tables.A("pk")])
    tier_list = tables.Column(empty_values=(), orderable=False, verbose_name="Tiers")

    class Meta:
        model = TierStructure
        fields = ["code", "name", "tier_list", "qualification_months", "tier_validity_months", "position"]
        always_visible = ("code",)
        empty_text = "No tier structures yet."

    def render_tier_list(self, record):
        return ", ".join(f"{tier.name} ({number_text(tier.threshold)})" for tier in record.tiers.all()) or "—"
