"""FilterSets of the workflow list pages (the API reuses them)."""

from __future__ import annotations

import django_filters

from . import pending
from .choices import RunStatus, TriggerState, TriggerType, WorkflowStatus
from .models import Campaign, PendingTrigger, Workflow, WorkflowRun


class WorkflowFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    status = django_filters.ChoiceFilter(choices=WorkflowStatus.choices)
    trigger_type = django_filters.ChoiceFilter(choices=TriggerType.choices, label="Trigger")
    kind = django_filters.ChoiceFilter(
        choices=[("general", "General workflows"), ("campaign", "Campaign workflows")],
        method="filter_kind",
        label="Type",
    )

    class Meta:
        model = Workflow
        fields = ["q", "status", "trigger_type", "kind"]

    def filter_kind(self, queryset, name, value):
        return queryset.filter(campaign__isnull=value == "general")


class CampaignFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")

    class Meta:
        model = Campaign
        fields = ["q"]


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label="Type")

    class Meta:
        model = WorkflowRun
        fields = ["status"]


class PendingTriggerFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=TriggerState.choices, method="filter_state", label="State")

    class Meta:
        model = PendingTrigger
        fields = ["state"]

    def filter_state(self, queryset, name, value):
        return pending.in_state(queryset, value)
