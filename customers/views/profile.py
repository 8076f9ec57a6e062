"""Profile tabs: Overview, Personal information, Events (+ details), Points history, Tiers, Changes.

Each tab is its own view and runs only its own queries; the count of queries does not grow with
the number of rows shown (tests/customers/test_console_queries.py)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404

from coupons.choices import CouponStatus
from coupons.models import Coupon, RewardClaim
from coupons.rewards import claimable
from customers.forms import EventFilterForm
from events import catalog, definitions
from events.models import Event
from events.permissions import may_register
from loyalty import clock
from loyalty.audit.models import ChangeLogEntry
from loyalty.charts import Chart
from loyalty.console.paging import keyset_page, pager_context
from loyalty.models import CustomerTier, LedgerEntry, PointBalance, PointLot, Program, Tier
from loyalty.models.ledger import LotStatus
from loyalty.tiers import effective_rows
from segments.building import segments_of
from segments.lists import lists_of
from workflows.models import RunStep, Workflow, WorkflowRun

from .base import CustomerTabView

TIER_ACTIONS = ("tier_up", "tier_down", "tier_change", "tier_remove", "tier_expiration_change")
# Points about to expire "the next time the scheduled expiration service runs" (daily).
EXPIRING_WINDOW = dt.timedelta(days=1)


def lot_labels(event_ids, now) -> dict[int, str]:
    """Event id -> POINTS EXHAUSTED / EXPIRED / EXPIRING from the event's point lots (one query)."""
    labels = {}
    for lot in PointLot.objects.filter(event_id__in=event_ids).only(
        "event_id", "status", "expires_at", "points", "used", "expired_points"
    ):
        if lot.status == LotStatus.EXPIRED:
            labels[lot.event_id] = "EXPIRED"
        elif lot.status == LotStatus.EXHAUSTED or (lot.points and lot.used >= lot.points):
            labels[lot.event_id] = "POINTS EXHAUSTED"
        elif lot.expires_at and lot.expires_at <= now + EXPIRING_WINDOW and lot.remaining > 0:
            labels[lot.event_id] = "EXPIRING"
    return labels


def workflows_of(events) -> dict[int, Workflow]:
    """{workflow id: Workflow with its campaign} of the events a workflow registered (one query,
    none when no event on the page is a workflow's): the Events tab names them."""
    ids = {event.workflow_id for event in events if event.workflow_id}
    if not ids:
        return {}
    rows = Workflow.objects.filter(pk__in=ids).select_related("campaign").only("name", "campaign__name")
    return {workflow.pk: workflow for workflow in rows}


def action_choices() -> list[tuple[str, str]]:
    choices = [(spec.action, spec.label) for spec in definitions.BUILTIN_ACTIONS.values()]
    choices += [
        (action, custom.spec.label)
        for action, custom in catalog.custom_specs().items()
        if not custom.builtin_extension and action not in definitions.BUILTIN_ACTIONS
    ]
    return sorted(choices, key=lambda c: c[1].lower())


class CustomerOverviewView(CustomerTabView):
    active_tab = "customers:customer_overview"
    template_name = "customers/customer_overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        program = Program.current()
        balances = list(
            PointBalance.objects.filter(customer=customer).select_related("account").order_by("account__code")
        )
        context["balances"] = balances
        context["tiers"] = self.tier_progress(customer) if program.tiers else []
        context["latest_events"] = list(customer.events.select_related("admin_user").order_by("-id")[:10])
        context["labels"] = list(customer.labels.all())
        entries = list(
            LedgerEntry.objects.filter(customer=customer)
            .order_by("-id")
            .values_list("created_at", "spendable_after", "account_id")[:200]
        )
        if balances:
            # One line: the default (or first) account's balance.
            account_id = next(
                (b.account_id for b in balances if b.account.is_default), balances[0].account_id
            )
            entries = [e for e in entries if e[2] == account_id]
        context["chart"] = self.balance_chart([(created, value) for created, value, _ in reversed(entries)])
        context["coupon_stats"] = self.coupon_stats(customer) if program.coupons else None
        context["rewards"] = self.rewards(customer) if program.rewards else None
        if program.segments:  # "Segments that the customer is a part of" (000), and lists
            context["customer_segments"] = segments_of(customer.pk)
            context["customer_lists"] = lists_of(customer.pk)
        return context

    @staticmethod
    def rewards(customer) -> dict | None:
        """Claimed (latest 10) and available rewards: those an agent can claim for the customer, so
        no bidding reward (won by bidding, never claimed: coupons.auctions)."""
        claimed = list(
            RewardClaim.objects.filter(customer=customer).select_related("reward").order_by("-id")[:10]
        )
        available = [r for r in claimable(customer, clock.now(customer.environment)) if not r.bidding]
        return {"claimed": claimed, "available": available[:10]}

    @staticmethod
    def tier_progress(customer) -> list[dict]:
        held = {
            r.structure_id: r
            for r in CustomerTier.objects.filter(customer=customer).select_related("structure", "tier")
        }
        # as it is now: a tier the hourly review has not changed yet is shown changed
        rows = list(effective_rows(customer, clock.now(customer.environment), held).values())
        if not rows:
            return []
        ladder: dict[int, list[Tier]] = {}
        for tier in Tier.objects.filter(structure_id__in=[r.structure_id for r in rows]).order_by(
            "threshold"
        ):
            ladder.setdefault(tier.structure_id, []).append(tier)
        progress = []
        for row in rows:
            nxt = next(
                (t for t in ladder.get(row.structure_id, []) if t.threshold > row.tier.threshold), None
            )
            percent = None
            if nxt:
                base = row.tier.threshold
                percent = max(
                    0, min(100, int((row.tier_points - base) * 100 / ((nxt.threshold - base) or 1)))
                )
            progress.append(
                {
                    "row": row,
                    "next": nxt,
                    "percent": percent,
                    "missing": max(0, nxt.threshold - row.tier_points) if nxt else 0,
                }
            )
        return progress

    @staticmethod
    def balance_chart(points: list[tuple[dt.datetime, int]]) -> Chart | None:
        """The spendable balance after each of the latest ledger entries (labelled by their local
        date and time); None with fewer than two entries."""
        if len(points) < 2:
            return None
        zone = clock.zone()
        return Chart(
            "balance",
            "Spendable balance over time",
            "line",
            [moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") for moment, _ in points],
            [{"label": "Spendable", "data": [value for _, value in points]}],
            x_label="Date and time",
        )

    @staticmethod
    def coupon_stats(customer) -> dict:
        """000's coupon statistics: coupons held, by status (every status, in the choices' order),
        and the share redeemed."""
        counts = dict(
            Coupon.objects.filter(customer=customer).values_list("status").annotate(n=Count("id")).order_by()
        )
        total = sum(counts.values())
        redeemed = counts.get(CouponStatus.REDEEMED, 0)
        return {
            "total": total,
            "by_status": [
                (label, counts.get(value, 0))
                for value, label in CouponStatus.choices
                if value != "unassigned"
            ],
            "redeemed_percent": round(100 * redeemed / total) if total else None,
        }


class CustomerEventsView(CustomerTabView):
    active_tab = "customers:customer_events"
    template_name = "customers/customer_events.html"
    per_page = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = EventFilterForm(self.request.GET or None, action_choices=action_choices())
        events = Event.objects.filter(customer=self.object).select_related("admin_user", "account")
        if form.is_valid():
            if form.cleaned_data.get("action"):
                events = events.filter(action=form.cleaned_data["action"])
            if form.cleaned_data.get("transaction_id"):
                events = events.filter(transaction_id=form.cleaned_data["transaction_id"])
        page = keyset_page(events, self.request.GET, per_page=self.per_page)
        labels = lot_labels([e.pk for e in page.rows if e.points], clock.now())
        made_by = workflows_of(page.rows)
        for event in page.rows:
            event.points_label = labels.get(event.pk, "")
            event.made_by = made_by.get(event.workflow_id)
        context.update({"filter_form": form, "events": page.rows, **pager_context(self.request, page)})
        return context


class CustomerEventDetailView(CustomerTabView):
    active_tab = "customers:customer_events"
    template_name = "customers/customer_event_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = get_object_or_404(
            Event.objects.select_related("admin_user", "account", "parent"),
            pk=self.kwargs["event_id"],
            customer=self.object,
        )
        context["event"] = event
        # Not `event.data.items` in the template: a checkout's data has an "items" key.
        context["attributes"] = sorted(event.data.items()) if isinstance(event.data, dict) else []
        context["children"] = list(event.children.order_by("id")[:50])
        context["lots"] = list(PointLot.objects.filter(event=event).select_related("account"))
        context["points_label"] = lot_labels([event.pk], clock.now()).get(event.pk, "")
        # Workflows (000): the runs this event triggered, and the run step that made it.
        context["workflow_runs"] = list(
            WorkflowRun.objects.filter(trigger_event=event).select_related("workflow").order_by("id")[:50]
        )
        context["made_by_step"] = (
            RunStep.objects.filter(event=event).select_related("run__workflow__campaign").first()
            if event.workflow_id
            else None
        )
        return context


class CustomerPointsView(CustomerTabView):
    active_tab = "customers:customer_points"
    template_name = "customers/customer_points.html"
    per_page = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        balances = list(
            PointBalance.objects.filter(customer=self.object)
            .select_related("account")
            .order_by("account__code")
        )
        entries = LedgerEntry.objects.filter(customer=self.object).select_related("event", "account", "lot")
        account = self.request.GET.get("account")
        if account and any(b.account.code == account for b in balances):
            entries = entries.filter(account__code=account)
        page = keyset_page(entries, self.request.GET, per_page=self.per_page)
        context.update(
            {
                "balances": balances,
                "entries": page.rows,
                "account": account,
                "can_change_expiration": may_register(self.request.user, "change_expiration"),
                **pager_context(self.request, page),
            }
        )
        return context


class CustomerTiersView(CustomerTabView):
    active_tab = "customers:customer_tiers"
    template_name = "customers/customer_tiers.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().tiers:
            raise Http404("The tiers module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tiers"] = CustomerOverviewView.tier_progress(self.object)
        history = Event.objects.filter(customer=self.object, action__in=TIER_ACTIONS).select_related(
            "admin_user"
        )
        page = keyset_page(history, self.request.GET, per_page=25)
        context.update({"history": page.rows, **pager_context(self.request, page)})
        return context


class CustomerChangesView(CustomerTabView):
    active_tab = "customers:customer_changes"
    template_name = "customers/customer_changes.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        changes = ChangeLogEntry.objects.filter(customer=self.object).select_related("user")
        page = keyset_page(changes, self.request.GET, per_page=25)
        context.update({"changes": page.rows, **pager_context(self.request, page)})
        return context
