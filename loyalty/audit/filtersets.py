import django_filters
from django.contrib.auth import get_user_model

from loyalty.console.filters import LocalDayFilter

from .models import ChangeLogEntry, ChangeRequest, RequestStatus


class ChangeLogFilterSet(django_filters.FilterSet):
    user = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.order_by("username"), empty_label="Any user"
    )
    customer = django_filters.CharFilter(field_name="customer__customer_id", label="Customer ID")
    since = LocalDayFilter(field_name="created_at", lookup_expr="gte", label="From")
    until = LocalDayFilter(field_name="created_at", lookup_expr="lte", label="Until")
    action = django_filters.CharFilter()

    class Meta:
        model = ChangeLogEntry
        fields = ["user", "customer", "since", "until", "action"]


class ChangeRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, empty_label="Any status")

    class Meta:
        model = ChangeRequest
        fields = ["status"]
