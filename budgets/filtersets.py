import django_filters

from .models import Budget


class BudgetFilterSet(django_filters.FilterSet):
    campaign = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Budget
        fields = ["campaign", "action", "period", "active"]
