"""Tables and filter sets of the event definition pages."""

import django_filters
import django_tables2 as tables
from django.db.models import Q
from django_filters.widgets import BooleanWidget

from loyalty.console.columns import NumberColumn, WhenColumn

from .models import EventDefinition


class AnyYesNo(BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class EventDefinitionFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    builtin_extension = django_filters.BooleanFilter(label="Extends built-in", widget=AnyYesNo)
    active = django_filters.BooleanFilter(label="Active", widget=AnyYesNo)

    class Meta:
        model = EventDefinition
        fields = ["q", "builtin_extension", "active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(action__icontains=value) | Q(label__icontains=value))


class EventDefinitionTable(tables.Table):
    action = tables.LinkColumn("events:definition_edit", args=[tables.A("pk")], verbose_name="Name")
    attribute_list = tables.Column(empty_values=(), orderable=False, verbose_name="Attributes")
    builtin_extension = tables.BooleanColumn(verbose_name="Extends built-in")
    active = tables.BooleanColumn()
    points = NumberColumn()
    created_at = WhenColumn(verbose_name="Created at")

    class Meta:
        model = EventDefinition
        fields = ["action", "label", "attribute_list", "points", "builtin_extension", "active", "created_at"]
        always_visible = ("action",)
        empty_text = "No custom events yet."

    def render_attribute_list(self, record):
        return (
            ", ".join(
                f"{a.name} ({a.type}{', required' if a.required else ''})" for a in record.attributes.all()
            )
            or "—"
        )
