"""Filter sets of the settings area's lists (ObjectListView pages)."""

import django_filters

from loyalty.console.filters import SearchFilterSet, yes_no_filter
from loyalty.models import PointAccount, TierStructure
from loyalty.models.ledger import ExpirationRule


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
