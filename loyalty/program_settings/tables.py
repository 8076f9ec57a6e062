"""Tables and filter sets of the settings area's lists (ObjectListView pages)."""

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import Q

from customers.choices import FieldType
from customers.models import CustomField
from loyalty.models import PointAccount, TierStructure
from loyalty.models.ledger import ExpirationRule


def yes_no_filter(label: str) -> django_filters.BooleanFilter:
    """A boolean filter whose select reads Any / Yes / No."""
    choices = [("", "Any"), ("true", "Yes"), ("false", "No")]
    return django_filters.BooleanFilter(label=label, widget=forms.Select(choices=choices))


class SearchFilterSet(django_filters.FilterSet):
    """A `q` box over `search_fields` (case-insensitive contains)."""

    search_fields: tuple[str, ...] = ("code", "name")
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset, name, value):
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class PointAccountFilterSet(SearchFilterSet):
    expiration_rule = django_filters.ChoiceFilter(
        choices=ExpirationRule.choices, empty_label="Any expiration"
    )
    is_default = yes_no_filter("Default")

    class Meta:
        model = PointAccount
        fields = ["q", "expiration_rule", "is_default"]


class TierStructureFilterSet(SearchFilterSet):
    class Meta:
        model = TierStructure
        fields = ["q"]


class CustomFieldFilterSet(SearchFilterSet):
    search_fields = ("name", "label")
    type = django_filters.ChoiceFilter(choices=FieldType.choices, empty_label="Any type")
    external_id = yes_no_filter("External ID")
    searchable = yes_no_filter("Searchable")

    class Meta:
        model = CustomField
        fields = ["q", "type", "external_id", "searchable"]


class PointAccountTable(tables.Table):
    code = tables.LinkColumn("settings:account_edit", args=[tables.A("pk")])
    is_default = tables.BooleanColumn(verbose_name="Default")
    expiration = tables.Column(empty_values=(), orderable=False, verbose_name="Expiration")

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
        return ", ".join(f"{tier.name} ({tier.threshold})" for tier in record.tiers.all()) or "—"


class CustomFieldTable(tables.Table):
    name = tables.LinkColumn("settings:custom_field_edit", args=[tables.A("pk")])
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
