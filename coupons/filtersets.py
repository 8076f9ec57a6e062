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
    code = django_filters.CharFilter(lookup_expr="iexact")
    status = django_filters.ChoiceFilter(choices=CouponStatus.choices)

    class Meta:
        model = Coupon
        fields = ["code", "status"]


class RewardFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Reward
        fields = ["name", "active", "gives"]
