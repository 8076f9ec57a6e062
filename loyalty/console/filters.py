"""Filter building blocks shared by the console's FilterSets (django-filter)."""

import django_filters
from django import forms
from django.db.models import Q

from loyalty import clock


def yes_no_filter(label: str) -> django_filters.BooleanFilter:
    """A boolean filter whose select reads Any / Yes / No."""
    choices = [("", "Any"), ("true", "Yes"), ("false", "No")]
    return django_filters.BooleanFilter(label=label, widget=forms.Select(choices=choices))


class SearchFilterSet(django_filters.FilterSet):
    """A `q` box over `search_fields` (case-insensitive contains)."""

    search_fields: tuple[str, ...] = ("code", "name")
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset, name, value):
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class LocalDayFilter(django_filters.DateFilter):
    """A date picker bounding a date-time column: the date names the whole day in the program's
    time zone (loyalty.clock.date_bound), so `lte` ("until") includes that day to its end."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ([], (), {}, "", None):
            return qs
        lookup, moment = clock.date_bound(self.lookup_expr, value)
        return self.get_method(qs)(**{f"{self.field_name}__{lookup}": moment})
