"""Tables of the workflow pages (django-tables2)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from customers.tables import profile_url
from loyalty.console import formatting
from loyalty.console.columns import WhenColumn

from .models import Campaign, PendingTrigger, Workflow, WorkflowRun

_RUN_STATUS = '<span class="badge run-{{ record.status }}" data-testid="run-status">{{ record.get_status_display }}</span>'


def _customer_url(record) -> str | None:
    if not record.customer_id or record.customer.anonymized_at is not None:
        return None
    return reverse("customers:customer_overview", kwargs={"ref": record.customer.customer_id})


class WorkflowTable(tables.Table):
    name = tables.Column(linkify=("workflows:workflow_detail", {"pk": tables.A("pk")}))
    status = tables.Column()
    campaign = tables.Column(
        linkify=lambda record: (
            reverse("workflows:campaign_edit", args=[record.campaign_id]) if record.campaign_id else None
        )
    )
    trigger_type = tables.Column(verbose_name="Trigger")
    trigger_action = tables.Column(verbose_name="Event type")
    priority = tables.Column(attrs={"td": {"class": "num"}})
    version = tables.TemplateColumn(
        "{% if record.version %}v{{ record.version.number }}{% else %}—{% endif %}"
    )
    updated_at = WhenColumn(verbose_name="Changed")

    class Meta:
        model = Workflow
        fields = (
            "name",
            "status",
            "campaign",
            "trigger_type",
            "trigger_action",
            "priority",
            "version",
            "updated_at",
        )
        always_visible = ("name",)
        attrs = {"data-testid": "workflow-table"}
        empty_text = "No workflows yet."


class CampaignTable(tables.Table):
    name = tables.Column(linkify=("workflows:campaign_edit", {"pk": tables.A("pk")}))
    starts_at = WhenColumn(verbose_name="Start")
    ends_at = WhenColumn(verbose_name="End")
    participants = tables.Column(verbose_name="Participants", attrs={"td": {"class": "num"}})
    distributed_points = tables.Column(
        verbose_name="Distributed bonus points", attrs={"td": {"class": "num"}}
    )
    cap_share = tables.TemplateColumn(
        "{% if record.cap_share is not None %}{% widthratio record.distributed_points record.max_bonus_points 100 %} %"
        "{% else %}—{% endif %}",
        verbose_name="Distributed points %",
        orderable=False,
    )
    max_bonus_points = tables.Column(verbose_name="Max bonus points")
    max_customer_points = tables.Column(verbose_name="Max customer points")
    limit_behavior = tables.Column(verbose_name="Limit")

    class Meta:
        model = Campaign
        fields = (
            "name", "starts_at", "ends_at", "participants", "distributed_points", "cap_share",
            "max_bonus_points", "max_customer_points", "limit_behavior",
        )  # fmt: skip
        always_visible = ("name",)
        attrs = {"data-testid": "campaign-table"}
        empty_text = "No campaigns yet."


class RunTable(tables.Table):
    id = tables.Column(linkify=("workflows:run_detail", {"pk": tables.A("pk")}), verbose_name="Run")
    status = tables.TemplateColumn(_RUN_STATUS, verbose_name="Type")
    workflow = tables.Column(linkify=("workflows:workflow_detail", {"pk": tables.A("workflow_id")}))
    customer = tables.Column(linkify=lambda record: _customer_url(record))
    trigger = tables.Column(verbose_name="Triggered by")
    started_at = WhenColumn(verbose_name="Timestamp")
    duration_ms = tables.TemplateColumn(
        "{% if record.duration_ms is not None %}{{ record.duration_ms }} ms{% else %}—{% endif %}",
        verbose_name="Time",
        attrs={"td": {"class": "num"}},
    )
    resume_at = WhenColumn(verbose_name="Waits until")
    version = tables.TemplateColumn("v{{ record.version.number }}")

    class Meta:
        model = WorkflowRun
        fields = (
            "id",
            "status",
            "workflow",
            "customer",
            "trigger",
            "started_at",
            "duration_ms",
            "resume_at",
            "version",
        )
        always_visible = ("id",)
        attrs = {"data-testid": "run-table"}
        empty_text = "No runs."


_PLACEHOLDER = 987654321


@lru_cache(maxsize=16)
def _url_pattern(name: str, with_ref: bool = False) -> str:
    """reverse() once per process: the URL with `{pk}` (and `{ref}`) where its arguments go (a
    50-row page links each row several times; reverse() costs ~0.2 ms a call)."""
    args = ["REF", _PLACEHOLDER] if with_ref else [_PLACEHOLDER]
    return reverse(name, args=args).replace("REF", "{ref}").replace(str(_PLACEHOLDER), "{pk}")


def _url(name: str, pk: int, ref: str | None = None) -> str:
    pattern = _url_pattern(name, ref is not None)
    return pattern.format(pk=pk, ref=quote(ref, safe="")) if ref is not None else pattern.format(pk=pk)


class PendingTriggerTable(tables.Table):
    """The outbox rows (workflows.pending_views). Each row carries `event` (its main event, with
    the customer) and `workflows` [(id, name)] set by workflows.pending.annotate; `actions` shows
    only to those who may manage workflows (the view excludes it otherwise)."""

    id = tables.Column(verbose_name="#")
    state = tables.Column(empty_values=(), verbose_name="State")
    event = tables.Column(empty_values=(), verbose_name="Event")
    customer = tables.Column(empty_values=(), verbose_name="Customer")
    workflows = tables.Column(empty_values=(), verbose_name="Workflows")
    attempts = tables.Column(verbose_name="Failed attempts", attrs={"td": {"class": "num"}})
    error = tables.Column(verbose_name="Last error", attrs={"td": {"class": "mono"}})
    available_at = tables.Column(verbose_name="Next try")
    created_at = WhenColumn(verbose_name="Created")
    actions = tables.Column(empty_values=(), verbose_name="", attrs={"td": {"class": "row-buttons"}})

    class Meta:
        model = PendingTrigger
        fields = (
            "id",
            "state",
            "event",
            "customer",
            "workflows",
            "attempts",
            "error",
            "available_at",
            "created_at",
        )
        sequence = (*fields, "actions")
        orderable = False  # keyset-paged by id, newest first
        always_visible = ("id",)
        attrs = {"data-testid": "pending-trigger-table"}
        empty_text = "No pending triggers: every action branch has run."

    def render_state(self, record):
        return format_html(
            '<span class="badge trigger-{}" data-testid="trigger-state">{}</span>',
            record.state,
            record.state.capitalize(),
        )

    def render_event(self, record):
        event = getattr(record, "event", None)
        if event is None:
            return f"#{record.main_event_id}" if record.main_event_id else "—"
        label = f"{event.action} #{event.pk}"
        customer = event.customer
        if customer is None or customer.anonymized_at is not None:
            return label
        url = _url("customers:customer_event_detail", event.pk, customer.customer_id)
        return format_html('<a href="{}">{}</a>', url, label)

    def render_customer(self, record):
        event = getattr(record, "event", None)
        customer = event.customer if event is not None else None
        if customer is None:
            return "—"
        if customer.anonymized_at is not None:
            return "(anonymized)"
        return format_html('<a href="{}">{}</a>', profile_url(customer), customer.customer_id)

    def render_workflows(self, record):
        found = getattr(record, "workflows", None) or []
        if not found:
            return "—"
        links = ((_url("workflows:workflow_detail", pk), name) for pk, name in found)
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    def render_available_at(self, record, value):
        if record.failed_at is not None:
            return format_html("parked {}", formatting.time_html(record.failed_at, with_time=True))
        return formatting.time_html(value, with_time=True)

    def render_actions(self, record):
        discard = format_html(
            '<a class="button secondary small" href="{}">Discard</a>',
            _url("workflows:pending_discard", record.pk),
        )
        if record.state == "pending":  # already due: Retry now would be refused
            return discard
        retry = format_html(
            '<a class="button secondary small" href="{}">Retry now</a>',
            _url("workflows:pending_retry", record.pk),
        )
        return format_html("{} {}", retry, discard)
