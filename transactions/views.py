"""Transactions console: the program-wide list, a transaction's details with its actions, the
customer's Transactions tab, and the earning rules."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.views.generic import TemplateView

from customers.views.base import CustomerChildrenView
from events.permissions import may_register
from loyalty.console.views import ConsoleView, EventActionView, ObjectEditView, ObjectListView
from loyalty.errors import BusinessRuleError

from .filtersets import CustomerTransactionFilterSet, EarningRuleFilterSet, TransactionFilterSet
from .forms import EarningRuleForm, PartialRefundForm
from .models import EarningRule, Transaction
from .tables import CustomerTransactionTable, EarningRuleTable, TransactionTable


class TransactionListView(ObjectListView):
    title = "Transactions"
    filterset_class = TransactionFilterSet
    table_class = TransactionTable
    actions = [("Earning rules", "transactions:earning_rule_list", "loyalty.view_console")]

    def get_queryset(self):
        return (
            Transaction.objects.filter(environment=self.request.environment)
            .select_related("account", "customer")
            .order_by("-id")
        )


class TransactionDetailView(ConsoleView, TemplateView):
    """000: transaction ID, total, refunded value, and the items."""

    template_name = "transactions/transaction_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tx = get_object_or_404(
            Transaction.objects.select_related("account", "customer"),
            pk=self.kwargs["pk"],
            environment=self.request.environment,
        )
        actions = []
        if tx.customer is not None:
            for label, name, statuses in ACTIONS:
                if tx.status in statuses and may_register(self.request.user, ACTION_EVENTS[name]):
                    actions.append(
                        {"label": label, "url": reverse(f"transactions:transaction_{name}", args=[tx.pk])}
                    )
        context.update(transaction=tx, items=tx.items.all(), actions=actions, title=f"Transaction {tx}")
        return context


ACTIONS = [
    ("Accept", "accept", ("pending",)),
    ("Reject", "reject", ("pending", "accepted")),
    ("Refund", "refund", ("accepted",)),
    ("Partial refund", "partial_refund", ("accepted",)),
]
ACTION_EVENTS = {
    "accept": "checkout_accept",
    "reject": "checkout_reject",
    "refund": "refund",
    "partial_refund": "partial_refund",
}


class TransactionActionView(EventActionView):
    """Accept / reject / refund: one event on the transaction's customer, with the reason."""

    event_action = ""  # who may: events.permissions.ACTION_PERMISSIONS

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.transaction = get_object_or_404(
                Transaction.objects.select_related("customer"),
                pk=kwargs["pk"],
                environment=request.environment,
            )
        return super().dispatch(request, *args, **kwargs)

    def event_data(self, form) -> dict:
        return {"transaction_id": self.transaction.transaction_id}

    def event_customer(self):
        if self.transaction.customer is None:
            raise BusinessRuleError("A guest transaction must be claimed by a customer first.")
        return self.transaction.customer

    def get_success_url(self):
        return reverse("transactions:transaction_detail", args=[self.transaction.pk])

    def get_cancel_url(self):
        return self.get_success_url()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"{self.title} {self.transaction.transaction_id}"
        return context


class AcceptView(TransactionActionView):
    event_action = "checkout_accept"
    title = "Accept transaction"
    confirm_text = "The points rewarded for this transaction become spendable."


class RejectView(TransactionActionView):
    event_action = "checkout_reject"
    title = "Reject transaction"
    confirm_text = "Earned points are taken back (never below a zero balance) and burned points given back."
    danger = True


class RefundView(TransactionActionView):
    event_action = "refund"
    title = "Refund transaction"
    confirm_text = "The whole value is refunded: earned points are taken back and burned points given back."
    danger = True


class PartialRefundView(TransactionActionView):
    event_action = "partial_refund"
    title = "Partially refund transaction"
    form_class = PartialRefundForm
    confirm_text = "Points are taken back in proportion to the refunded amount."

    def event_data(self, form):
        return {**super().event_data(form), "amount": str(form.cleaned_data["amount"])}


class CustomerTransactionsView(CustomerChildrenView):
    active_tab = "transactions:customer_transactions"
    template_name = "transactions/customer_transactions.html"
    table_class = CustomerTransactionTable
    filterset_class = CustomerTransactionFilterSet

    def get_children(self, customer):
        return Transaction.objects.filter(customer=customer).select_related("account").order_by("-id")


class EarningRuleListView(ObjectListView):
    title = "Earning rules"
    table_class = EarningRuleTable
    filterset_class = EarningRuleFilterSet
    actions = [("New earning rule", "transactions:earning_rule_add", "loyalty.manage_catalog")]
    queryset = EarningRule.objects.select_related("account")


class EarningRuleEditView(ObjectEditView):
    model = EarningRule
    form_class = EarningRuleForm
    permission_required = "loyalty.manage_catalog"
    success_url = reverse_lazy("transactions:earning_rule_list")
