import django_filters
from django import forms
from django.contrib.auth import get_user_model

from .models import ChangeLogEntry, ChangeRequest, RequestStatus


class ChangeLogFilterSet(django_filters.FilterSet):
    user = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.order_by("username"), empty_label="Any user"
    )
    customer = django_filters.CharFilter(field_name="customer__customer_id", label="Customer ID")
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="Until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    action = django_filters.CharFilter()

    class Meta:
        model = ChangeLogEntry
        fields = ["user", "customer", "since", "until", "action"]


class ChangeRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, empty_label="Any status")

    class Meta:
        model = ChangeRequest
        fields = ["status"]
