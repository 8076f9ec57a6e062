import django_filters

from .choices import CouponStatus, CouponType
from .models import Coupon, CouponPool, Reward


class CouponPoolFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    type = django_filters.ChoiceFilter(choices=CouponType.choices)

    class Meta:
        model = CouponPool
        fields = ["name", "type", "active"]


class CouponFilterSet(django_filters.FilterSet):
    # Whatever the letter case, through the unique index on UPPER(code) (issue 13 §3).
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
