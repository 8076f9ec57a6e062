import django_filters

from .choices import CardStatus
from .models import LoyaltyCard


class CardFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(label="Code (exact)")
    status = django_filters.ChoiceFilter(choices=CardStatus.choices)
    batch_id = django_filters.CharFilter(label="Batch")

    class Meta:
        model = LoyaltyCard
        fields = ["code", "status", "batch_id"]
