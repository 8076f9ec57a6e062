"""Customer list filters: the Filter button (status, gender, country, tier), the quick search
and the filter bar's conditions (`?f=field:op:value`, repeatable, AND-combined)."""

from __future__ import annotations

import django_filters
from django import forms

from customers.choices import CustomerStatus, FieldType, Gender
from customers.models import Customer, CustomField, Label
from customers.search import match
from events.filtersets import TIMESTAMP_LOOKUPS, TimestampFilter
from loyalty import clock
from loyalty.console.filters import SearchFilterSet, yes_no_filter
from loyalty.models import Tier
from loyalty.tiers import effective_tier_customers
from segments.conditions import (
    Condition,
    ConditionError,
    available_attributes,
    compile_conditions,
    make_context,
)
from segments.models import CustomerList, CustomerListMember, Segment, SegmentMember, Status


class ConditionListField(forms.Field):
    """The repeated `f` parameter: a list of conditions, each validated against the attributes."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return [v for v in value if v]

    def validate(self, value):
        attributes = available_attributes()
        errors = []
        for text in value:
            try:
                compile_conditions([Condition.parse(text)], attributes)
            except ConditionError as error:
                errors.append(forms.ValidationError(str(error)))
        if errors:
            raise forms.ValidationError(errors)


class ConditionFilter(django_filters.Filter):
    field_class = ConditionListField

    def filter(self, qs, value):
        if not value:
            return qs
        environment = getattr(getattr(self.parent, "request", None), "environment", None)
        ctx = make_context(environment=environment)  # the console's environment and its clock
        return qs.filter(compile_conditions([Condition.parse(text) for text in value], ctx=ctx))


class QuickSearchFilter(django_filters.CharFilter):
    """One search box: any part of name, e-mail, customer ID or external ID, case- and
    accent-insensitive (customers.search; trigram indexes on PostgreSQL)."""

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        environment = getattr(getattr(self.parent, "request", None), "environment", None)
        found = match(qs, value, environment)
        if found.overflow and self.parent is not None:
            self.parent.search_overflow = True
        return found.queryset


def _no_nul(value):
    if value and "\x00" in value:
        raise forms.ValidationError("The value contains a NUL character.")


class CustomerFilterSet(django_filters.FilterSet):
    q = QuickSearchFilter(
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name, e-mail, ID or external ID", "type": "search"}),
        validators=[_no_nul],
    )
    # distinct=False: one row per customer anyway, and DISTINCT would defeat the keyset index scan.
    status = django_filters.MultipleChoiceFilter(
        choices=CustomerStatus.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    gender = django_filters.ChoiceFilter(choices=Gender.choices, empty_label="Any gender")
    country = django_filters.CharFilter(validators=[_no_nul])
    tier = django_filters.ModelChoiceFilter(
        queryset=Tier.objects.select_related("structure"), empty_label="Any tier", method="in_tier"
    )
    # Membership filters: one indexed semi-join each (segment_member_current / list_member_unique).
    segment = django_filters.ModelChoiceFilter(
        queryset=Segment.objects.exclude(status=Status.ARCHIVED),
        empty_label="Any segment",
        method="in_segment",
    )
    list = django_filters.ModelChoiceFilter(
        queryset=CustomerList.objects.exclude(status=Status.ARCHIVED),
        empty_label="Any list",
        method="in_list",
    )
    f = ConditionFilter(label="Conditions")
    # Set by the quick search when its text matches too many customers to count cheaply
    # (customers.search.Match.overflow): the list then shows no count.
    search_overflow = False

    class Meta:
        model = Customer
        fields = ["q", "status", "gender", "country", "tier", "segment", "list", "f"]

    def in_tier(self, queryset, name, value):
        """Customers whose tier in the chosen tier's structure is that tier now (a tier that
        expired before the hourly review ran counts as changed: loyalty.tiers.effective_rows)."""
        if not value:
            return queryset
        environment = getattr(self.request, "environment", None)
        now = clock.now(environment)
        return queryset.filter(effective_tier_customers(now, [value.pk], value.structure_id, environment))

    def __init__(self, *args, segments_enabled: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not segments_enabled:
            del self.filters["segment"], self.filters["list"]

    def in_segment(self, queryset, name, value):
        members = SegmentMember.objects.filter(segment=value, left_at__isnull=True).values("customer_id")
        return queryset.filter(pk__in=members)

    def in_list(self, queryset, name, value):
        return queryset.filter(
            pk__in=CustomerListMember.objects.filter(customer_list=value).values("customer_id")
        )

    def filter_queryset(self, queryset):
        """Valid filters apply; an invalid condition is left out (its error is shown) while the
        valid conditions beside it still apply, so the list never widens silently."""
        queryset = super().filter_queryset(queryset)
        if "f" in self.form.errors:
            valid = []
            for text in self.form.data.getlist("f") if hasattr(self.form.data, "getlist") else []:
                try:
                    compile_conditions([Condition.parse(text)], available_attributes())
                except ConditionError:
                    continue
                valid.append(text)
            if valid:
                queryset = self.filters["f"].filter(queryset, valid)
        return queryset

    def searches_status(self, status: str) -> bool:
        """Whether the Filter button or a condition asks for `status` (opted-out customers are
        listed only then)."""
        data = self.form.cleaned_data if self.form.is_bound and hasattr(self.form, "cleaned_data") else {}
        if status in (data.get("status") or []):
            return True
        for text in data.get("f") or []:
            field, _, rest = text.partition(":")
            if field == "status" and status in rest.split(":", 1)[-1].split(","):
                return True
        return False

    def visible(self, qs):
        """What the customer list shows of `qs` (this filter applied): inactive customers only when
        searched for, opted-out ones only when filtered by that status. Exports use it too."""
        if not self.searches_inactive():
            qs = qs.exclude(status=CustomerStatus.INACTIVE)
        if not self.searches_status(CustomerStatus.OPTED_OUT):
            qs = qs.filter(anonymized_at__isnull=True)
        return qs

    def searches_inactive(self) -> bool:
        """Inactive customers are listed only when searched for or filtered by status (001)."""
        data = self.form.cleaned_data if self.form.is_bound and hasattr(self.form, "cleaned_data") else {}
        if data.get("q") or data.get("status") or data.get("segment") or data.get("list"):
            return True
        return any(text.split(":", 1)[0] == "status" for text in data.get("f") or [])


class LabelFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")

    class Meta:
        model = Label
        fields = ["q", "active"]


class LabelCustomerFilterSet(django_filters.FilterSet):
    customer_id = django_filters.CharFilter(label="Customer ID")

    class Meta:
        model = Customer
        fields = ["customer_id"]


class CustomFieldFilterSet(SearchFilterSet):
    search_fields = ("name", "label")
    type = django_filters.ChoiceFilter(choices=FieldType.choices, empty_label="Any type")
    external_id = yes_no_filter("External ID")
    searchable = yes_no_filter("Searchable")

    class Meta:
        model = CustomField
        fields = ["q", "type", "external_id", "searchable"]


class CustomerSearchFilterSet(django_filters.FilterSet):
    """`GET /api/customers` (Customer API search, the reference's "searchable fields only, exact,
    case-sensitive"): `_id`, `email`, `updated_at.gt|gte|lt|lte` (ISO 8601 or Unix seconds) and
    every custom field marked searchable. Names with a dot or a leading underscore are added in
    `get_filters`; the searchable custom fields per instance, since they change at run time."""

    email = django_filters.CharFilter(strip=False, validators=[_no_nul])

    class Meta:
        model = Customer
        fields = ["email"]

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        filters["_id"] = django_filters.CharFilter(
            field_name="customer_id", strip=False, validators=[_no_nul], help_text="customer ID"
        )
        for lookup, meaning in TIMESTAMP_LOOKUPS.items():
            filters[f"updated_at.{lookup}"] = TimestampFilter(
                field_name="updated_at",
                lookup_expr=lookup,
                help_text=f"customers updated {meaning} this time: ISO 8601 date-time or Unix seconds",
            )
        return filters

    def __init__(self, *args, searchable=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in searchable:
            if name not in self.filters:
                self.filters[name] = django_filters.CharFilter(
                    field_name=f"custom__{name}", strip=False, validators=[_no_nul]
                )
