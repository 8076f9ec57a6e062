"""Filters of a customer's point lots (`GET /api/customers/{id}/points`)."""

import django_filters

from loyalty.models import PointLot
from loyalty.models.ledger import LotStatus


class PointLotFilterSet(django_filters.FilterSet):
    """`status`: pending, active, exhausted or expired; anything else is a validation error."""

    status = django_filters.ChoiceFilter(choices=LotStatus.choices)

    class Meta:
        model = PointLot
        fields = ["status"]
