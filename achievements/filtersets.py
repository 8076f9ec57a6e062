import django_filters

from .models import Achievement


class AchievementFilterSet(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Achievement
        fields = ["title", "counts", "active"]
