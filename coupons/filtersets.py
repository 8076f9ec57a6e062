import django_filters
from django import forms
from django.db.models import Q
from django.db.models.functions import Coalesce

from loyalty import clock

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
    coupon's face value: its own, else its pool's). An unknown status or type is a validation error, not an empty list."""

    code = django_filters.CharFilter(lookup_expr="iexact", strip=False, validators=[_no_nul])
    name = django_filters.CharFilter(field_name="pool__name", lookup_expr="icontains", validators=[_no_nul])
    type = django_filters.ChoiceFilter(field_name="pool__type", choices=CouponType.choices)
    value = django_filters.NumberFilter(method="filter_value")
    status = django_filters.ChoiceFilter(choices=CouponStatus.choices, method="filter_status")

    class Meta(CouponFilterSet.Meta):
        fields = ["code", "name", "status", "type", "value"]

    def filter_value(self, queryset, name, value):
        return queryset.alias(face_value=Coalesce("value", "pool__value")).filter(face_value=value)

    def filter_status(self, queryset, name, value):
        """The status as of now (Coupon.current_status): a held coupon past its date is expired
        before the expiry task stores it, so the filter agrees with the status shown."""
        now = clock.now()
        held = Q(status__in=HELD)
        past = Q(expires_at__isnull=False, expires_at__lte=now)
        if value == CouponStatus.EXPIRED:
            return queryset.filter(Q(status=CouponStatus.EXPIRED) | (held & past))
        if value in HELD:
            return queryset.filter(Q(status=value) & ~past)
        return queryset.filter(status=value)


HELD = (CouponStatus.CLAIMED, CouponStatus.TRANSFERRED)


def _pool_id(value):
    if value and not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise forms.ValidationError("A coupon pool ID is a whole number.")


class ProgramCouponFilterSet(CustomerCouponFilterSet):
    """`GET /api/coupons` (the reference's Coupons API, coupons independent of customers): the
    customer filters plus `pool` (its ID) and `customer` (the holder's ID)."""

    pool = django_filters.CharFilter(field_name="pool_id", validators=[_pool_id])
    customer = django_filters.CharFilter(
        field_name="customer__customer_id", strip=False, validators=[_no_nul]
    )

    class Meta(CouponFilterSet.Meta):
        fields = ["code", "name", "status", "type", "value", "pool", "customer"]
