"""Filters of a customer's event history, shared by the API's history endpoints
(`GET /api/customers/{id}/events`, `GET /api/customers/-/events`).

The query-parameter names are the reference API's: `action`, `transaction_id` and
`timestamp.gt|gte|lt|lte` (ISO 8601 or Unix seconds). Matching is exact and case-sensitive.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime

from loyalty import clock
from loyalty.bounds import is_digits

from .models import Event

TIMESTAMP_LOOKUPS = {
    "gt": "after",
    "gte": "at or after",
    "lt": "before",
    "lte": "at or before",
}


def no_nul(value: str) -> None:
    """PostgreSQL cannot compare with a string holding NUL: refuse it as a bad value."""
    if "\x00" in value:
        raise forms.ValidationError("The value contains a NUL character.", code="invalid")


def parse_timestamp(text: str) -> dt.datetime:
    """Unix seconds or an ISO 8601 date-time (program-local time when it names no offset);
    ValueError otherwise. A bare date is its local day's start (filters use parse_bound)."""
    text = text.strip()
    if is_digits(text.removeprefix("-"), 11):
        try:
            return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("out of range") from None
    parsed = parse_datetime(text)  # ValueError for a well-formed but impossible date
    if parsed is None:
        raise ValueError("not a date-time")
    parsed = clock.aware(parsed)
    return parsed.astimezone(dt.UTC)  # OverflowError near year 1 or 9999: out of range too


class TimestampField(forms.Field):
    """A date-time, or a bare date (a `datetime.date`: the whole local day, clock.date_bound)."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date-time or Unix seconds."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            if clock.is_bare_date(str(value)):
                day = dt.date.fromisoformat(str(value).strip())
                clock.date_bound("gte", day)  # OverflowError at the calendar's ends: invalid
                return day
            return parse_timestamp(str(value))
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class TimestampFilter(django_filters.CharFilter):
    """A bound on `Event.timestamp`. A CharFilter only so the schema calls it a string: it takes
    Unix seconds as well as date-times, so `format: date-time` would be wrong."""

    field_class = TimestampField

    def filter(self, qs, value):
        if type(value) is dt.date:  # a bare date names the whole local day
            lookup, moment = clock.date_bound(self.lookup_expr, value)
            return self.get_method(qs)(**{f"{self.field_name}__{lookup}": moment})
        return super().filter(qs, value)


class DateField(forms.Field):
    default_error_messages = {"invalid": "Enter a date (YYYY-MM-DD)."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            if not clock.is_bare_date(text):
                raise ValueError(text)
            day = dt.date.fromisoformat(text)
            clock.date_bound("gt", day)  # OverflowError at the calendar's end
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        return day


class DayFilter(django_filters.CharFilter):
    """The reference's `date` / `date.gt|gte|lt|lte` on the event's date (`effective_at`): a date
    names the whole day in the program's time zone (clock.date_bound); `date=` is that day."""

    field_class = DateField

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if self.lookup_expr == "exact":
            for lookup in ("gte", "lte"):
                bound, moment = clock.date_bound(lookup, value)
                qs = qs.filter(**{f"{self.field_name}__{bound}": moment})
            return qs
        bound, moment = clock.date_bound(self.lookup_expr, value)
        return qs.filter(**{f"{self.field_name}__{bound}": moment})


class EventHistoryFilterSet(django_filters.FilterSet):
    action = django_filters.CharFilter(
        strip=False, validators=[no_nul], help_text="only events of this action (e.g. `point_add`)"
    )
    transaction_id = django_filters.CharFilter(
        strip=False, validators=[no_nul], help_text="only events of this transaction"
    )

    actions = django_filters.CharFilter(
        method="filter_actions", validators=[no_nul], help_text="comma-separated actions (any of them)"
    )
    points_only = django_filters.ChoiceFilter(
        method="filter_points_only",
        choices=[("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")],
        help_text="true: only events that changed points",
    )

    references = django_filters.ChoiceFilter(
        method="filter_nothing",
        choices=[("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")],
        help_text="true: each event names the reward or achievement (challenge) it belongs to, "
        "as `references: [{type, id, name}]`",
    )

    class Meta:
        model = Event
        fields = ["action", "actions", "transaction_id", "points_only", "references"]

    def filter_nothing(self, queryset, name, value):
        return queryset  # `references` shapes the response (the views read it), it filters nothing

    def filter_actions(self, queryset, name, value):
        names = [item.strip() for item in value.split(",") if item.strip()]
        return queryset.filter(action__in=names[:100]) if names else queryset

    def filter_points_only(self, queryset, name, value):
        return queryset.exclude(points=0) if value in ("true", "1") else queryset

    @classmethod
    def get_filters(cls):
        """The declared filters plus `timestamp.gt` ... `timestamp.lte`: names with a dot cannot be
        class attributes, so they are added here."""
        filters = super().get_filters()
        filters["date"] = DayFilter(
            field_name="effective_at",
            lookup_expr="exact",
            help_text="only events of this day (YYYY-MM-DD, the program's time zone)",
        )
        for lookup, meaning in TIMESTAMP_LOOKUPS.items():
            filters[f"date.{lookup}"] = DayFilter(
                field_name="effective_at",
                lookup_expr=lookup,
                help_text=f"only events dated {meaning} this day (YYYY-MM-DD, the whole day in the program's time zone)",
            )
        for lookup, meaning in TIMESTAMP_LOOKUPS.items():
            filters[f"timestamp.{lookup}"] = TimestampFilter(
                field_name="timestamp",
                lookup_expr=lookup,
                help_text=f"only events registered {meaning} this time: ISO 8601 date-time or Unix seconds;"
                " a date (YYYY-MM-DD) is the whole day in the program's time zone",
            )
        return filters
