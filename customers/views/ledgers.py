"""The Loyalty points tab (003, Talon.One): ledger choice or All ledgers, tier, current pending
and active points, the point transactions; actions Add points, Create subledger, Deduct points
(each with a required reason, through the engine and the change log) and Export transaction log.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from customers.ledger_forms import AddPointsForm, CreateSubledgerForm, DeductPointsForm, ExportLogForm
from loyalty.console.paging import keyset_page, pager_context
from loyalty.console.reversing import reverser
from loyalty.console.views import ConsolePageView
from loyalty.ledger import log as ledger_log
from loyalty.models import Program

from .actions import CustomerActionView
from .base import CustomerMixin, CustomerTabView

TAB = "customers:customer_loyalty_points"
EVENT_DETAIL = "customers:customer_event_detail"
# What a row shows: the entry, its event's session / source / reason and its lot's dates (not the
# events' data, which every row would otherwise decode).
ROW_FIELDS = (
    "id", "event", "account_id", "lot", "kind", "amount", "created_at",
    "event__transaction_id", "event__source", "event__reason", "event__label", "event__action",
    "lot__expires_at", "lot__activates_at", "lot__created_at",
)  # fmt: skip


class CustomerLoyaltyPointsView(CustomerTabView):
    active_tab = TAB
    template_name = "customers/customer_loyalty_points.html"
    per_page = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        choices, chosen = ledger_log.pick(customer, self.request.GET.get("ledger"))
        page = keyset_page(
            ledger_log.entries(customer, chosen).only(*ROW_FIELDS), self.request.GET, per_page=self.per_page
        )
        url = reverser()
        rows = [
            {
                "created": entry.created_at,
                "points": entry.amount,
                "ledger": ledger_log.ledger_name(entry),
                "reason": ledger_log.reason_of(entry),
                "expires": entry.lot.expires_at if entry.lot and entry.amount > 0 else None,
                "active": (entry.lot.activates_at or entry.lot.created_at)
                if entry.lot and entry.amount > 0
                else None,
                "session": ledger_log.session_of(entry),
                "event_url": url(EVENT_DETAIL, ref=customer.customer_id, event_id=entry.event_id),
            }
            for entry in page.rows
        ]
        program = Program.current()
        context.update(
            {
                "ledgers": choices,
                "chosen": chosen,
                "ledger_value": chosen.value if chosen else ledger_log.ALL,
                "figures": ledger_log.figures(customer, chosen, choices),
                "rows": rows,
                "show_ledger": chosen is None,
                "can_create_subledger": program.multi_accounts,
                **pager_context(self.request, page),
            }
        )
        return context


class LedgerActionView(CustomerActionView):
    """Add / deduct points, create a subledger: one point event with the reason."""

    permission_required = "loyalty.manage_points"
    success_tab = TAB
    template_name = "customers/customer_ledger_action.html"
    event_action = ""
    approval = True  # content approval applies to manual point changes
    verb = ""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def get_initial(self):
        return {"ledger": self.request.GET.get("ledger", "")}

    def get_success_url(self):
        return self.customer_url(TAB)

    def get_cancel_url(self):
        return self.customer_url(TAB)

    def event_account(self, form):
        return form.event()[0]

    def event_data(self, form):
        return form.event()[1]

    def done_message(self, form):
        return f"{self.verb}: {form.cleaned_data['points']} points."


class AddPointsView(LedgerActionView):
    form_class = AddPointsForm
    event_action = "point_add"
    title = "Add points"
    verb = "Added"
    submit_label = "Add points"


class DeductPointsView(LedgerActionView):
    form_class = DeductPointsForm
    event_action = "point_sub"
    title = "Deduct points"
    verb = "Deducted"
    submit_label = "Deduct points"
    danger = True


class CreateSubledgerView(LedgerActionView):
    form_class = CreateSubledgerForm
    event_action = "point_add"
    module = "multi_accounts"
    title = "Create subledger"
    confirm_text = "Creates a subledger of this customer in the chosen account and adds its first points."
    verb = "Subledger created"
    submit_label = "Create subledger"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.pop("customer")
        return kwargs


class ExportLogView(CustomerMixin, ConsolePageView):
    """003's Export transaction log: a form (GET), then the CSV (GET with the form's fields)."""

    permission_required = "loyalty.export_data"

    def get(self, request, *args, **kwargs):
        form = ExportLogForm(request.GET if "after" in request.GET else None, customer=self.customer)
        if form.is_bound and form.is_valid():
            after, before = form.bounds()
            lines = ledger_log.export_csv(
                self.customer, after=after, before=before, date_format=form.cleaned_data["date_format"]
            )
            response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
            name = f"transaction-log-{self.customer.pk}-{after:%Y%m%d}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return render(
            request,
            "customers/customer_export_log.html",
            {
                "customer": self.customer,
                "form": form,
                "title": "Export transaction log",
                "cancel_url": reverse(TAB, kwargs={"ref": self.customer.customer_id}),
            },
        )
