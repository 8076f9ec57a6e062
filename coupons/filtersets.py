import django_filters
from django import forms

from .choices import CouponStatus, CouponType
from .models import Coupon, CouponPool, Reward


class CouponPoolFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    type = django_filters.ChoiceFilter(choices=CouponType.choices)

    class Meta:
        model = CouponPool
        fields = ["name", "type", "active"]


class CouponFilterSet(django_filters.FilterSet):
    # Whatever the letter case, through the unique index on UPPER(code).
    code = django_filters.CharFilter(method="filter_code")
    status = django_filters.ChoiceFilter(choices=CouponStatus.choices)

    class Meta:
        model = Coupon
        fields = ["code", "status"]

    def filter_code(self, queryset, name, value):
        return queryset.with_code(value) if value else queryset


class RewardFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Reward
        fields = ["name", "active", "gives"]


def _no_nul(value):
    if value and "\x00" in value:
        raise forms.ValidationError("The value contains a NUL character.")


class CustomerCouponFilterSet(CouponFilterSet):
    """The Display API's coupon filters (`GET /api/customers/{id}/coupons`, reference §8.2):
    `code` (case-insensitive), `name` (the pool's, contains), `status`, `type`, `value` (the
    pool's face value). An unknown status or type is a validation error, not an empty list."""

    code = django_filters.CharFilter(lookup_expr="iexact", strip=False, validators=[_no_nul])
    name = django_filters.CharFilter(field_name="pool__name", lookup_expr="icontains", validators=[_no_nul])
    type = django_filters.ChoiceFilter(field_name="pool__type", choices=CouponType.choices)
    value = django_filters.NumberFilter(field_name="pool__value")

    class Meta(CouponFilterSet.Meta):
        fields = ["code", "name", "status", "type", "value"]
