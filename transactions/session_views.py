"""003's Sessions tab (the customer's transactions as Talon.One sessions) and Return items."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerTabView
from loyalty.audit.changes import register_change
from loyalty.console.forms import ReasonForm
from loyalty.console.paging import keyset_page, pager_context
from loyalty.errors import BusinessRuleError
from loyalty.models import Program

from . import session_export, sessions
from .choices import TransactionStatus
from .models import Transaction

TAB = "transactions:customer_sessions"


class CustomerSessionsView(CustomerTabView):
    active_tab = TAB
    template_name = "transactions/customer_sessions.html"
    per_page = 25

    def get(self, request, *args, **kwargs):
        if not Program.current().transactions:
            raise Http404("The transactions module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = keyset_page(sessions.sessions(self.object), self.request.GET, per_page=self.per_page)
        rows = []
        for tx in page.rows:
            state = sessions.state(tx, tx.returned_count)
            rows.append(
                {
                    "tx": tx,
                    "state": state,
                    "state_label": sessions.STATE_LABELS[state],
                    "items": tx.items_count,
                    "returned": tx.returned_count,
                    "coupons": ", ".join(str(code) for code in tx.coupon_codes or []),
                    "referral_code": (tx.data or {}).get("referral_code", "")
                    if isinstance(tx.data, dict)
                    else "",
                    "can_return": tx.status == TransactionStatus.ACCEPTED
                    and tx.returned_count < tx.items_count,
                }
            )
        context.update({"rows": rows, **pager_context(self.request, page)})
        return context


class ReturnItemsForm(ReasonForm):
    """One quantity field per product of the transaction (0 .. still returnable)."""

    def __init__(self, *args, lines: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for index, line in enumerate(lines):
            self.fields[f"qty_{index}"] = forms.IntegerField(
                label=f"{line['name']} ({line['product_id']})",
                min_value=0,
                max_value=line["open"],
                initial=0,
                required=False,
                help_text=f"{line['open']} of {line['quantity']} can be returned",
            )
        self.order_fields([f"qty_{i}" for i in range(len(lines))] + ["reason"])

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.returns():
            raise forms.ValidationError("Choose at least one item to return.")
        return cleaned

    def returns(self) -> list[tuple[str, int]]:
        chosen = []
        for index, line in enumerate(self.lines):
            quantity = self.cleaned_data.get(f"qty_{index}") or 0
            if quantity:
                chosen.append((line["product_id"], quantity))
        return chosen


def returnable_lines(tx: Transaction) -> list[dict]:
    """Items grouped by product ID (refund_item names a product), with what is still returnable."""
    lines: dict[str, dict] = {}
    for item in tx.items.all():
        line = lines.setdefault(
            item.product_id,
            {
                "product_id": item.product_id,
                "name": item.product_name or item.product_id,
                "quantity": 0,
                "open": 0,
            },
        )
        line["quantity"] += item.quantity
        line["open"] += item.quantity - item.refunded_quantity
    return [line for line in lines.values() if line["product_id"]]


class ReturnItemsView(CustomerActionView):
    """Return items of a closed session: one refund_item event per product, all or nothing."""

    permission_required = "loyalty.manage_transactions"
    module = "transactions"
    form_class = ReturnItemsForm
    success_tab = TAB
    title = "Return items"
    confirm_text = "The points earned for the returned items are taken back (never below a zero balance)."
    submit_label = "Return items"

    def get_transaction(self) -> Transaction:
        return get_object_or_404(Transaction, pk=self.kwargs["pk"], customer=self.customer)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "lines": returnable_lines(self.get_transaction())}

    def get_cancel_url(self):
        return self.customer_url(TAB)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Return items of {self.get_transaction().transaction_id}"
        return context

    def perform(self, form):
        tx = self.get_transaction()
        if tx.status != TransactionStatus.ACCEPTED:
            raise BusinessRuleError("Only items of a closed session can be returned.")
        reason = form.cleaned_data["reason"]
        returned = 0
        with transaction.atomic():  # every line or none
            for product_id, quantity in form.returns():
                register_change(
                    user=self.request.user,
                    customer=self.customer,
                    action="refund_item",
                    data={
                        "transaction_id": tx.transaction_id,
                        "product_id": product_id,
                        "quantity": quantity,
                    },
                    reason=reason,
                )
                returned += quantity
        return f"{returned} item(s) returned."


class CustomerSessionsExportView(CustomerTabView):
    """The customer's sessions as CSV (transactions.session_export: Talon.One's session export
    columns, timestamps in UTC)."""

    active_tab = TAB
    permission_required = "loyalty.export_data"

    def get(self, request, *args, **kwargs):
        if not Program.current().transactions:
            raise Http404("The transactions module is off.")
        customer = self.get_object()
        response = StreamingHttpResponse(
            session_export.export_csv(environment=customer.environment, customer=customer),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="sessions-{customer.pk}.csv"'
        return response
