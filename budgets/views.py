"""Budgets console: the definitions (list, create, edit) and 003's Budgets tab on the profile
(campaign, action, coupon value, a usage bar against the limit, the limit period, resets),
searchable by campaign name and coupon code."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse_lazy

from customers.views.base import CustomerTabView
from loyalty import clock
from loyalty.console.views import ObjectEditView, ObjectListView
from loyalty.models import Program

from .enforcement import period_bounds
from .filtersets import BudgetFilterSet
from .forms import BudgetForm, BudgetSearchForm
from .models import Budget, BudgetCounter
from .tables import BudgetTable

TAB = "budgets:customer_budgets"


class ModuleRequired:
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().budgets:
            raise Http404("The budgets module is off.")
        return super().dispatch(request, *args, **kwargs)


class BudgetListView(ModuleRequired, ObjectListView):
    title = "Budgets"
    filterset_class = BudgetFilterSet
    table_class = BudgetTable
    queryset = Budget.objects.order_by("campaign", "action")
    actions = [("New budget", "budgets:budget_add", "loyalty.manage_catalog")]


class BudgetEditView(ModuleRequired, ObjectEditView):
    model = Budget
    form_class = BudgetForm
    permission_required = "loyalty.manage_catalog"
    success_url = reverse_lazy("budgets:budget_list")


def budget_rows(customer, *, campaign: str = "", coupon: str = "") -> list[dict]:
    """The customer's budgets with this period's usage (one query for the counters)."""
    program = Program.current()
    now = clock.now()
    budgets = list(Budget.objects.filter(active=True).order_by("campaign", "action"))
    if campaign:
        budgets = [b for b in budgets if b.campaign == campaign]
    starts = {b.pk: period_bounds(b.period, now, program.time_zone) for b in budgets}
    counters = BudgetCounter.objects.filter(customer=customer, budget__in=budgets)
    if coupon:
        counters = counters.filter(coupon_code=coupon)
    current: dict[int, list] = {}
    for row in counters:
        if row.period_start == starts[row.budget_id][0]:
            current.setdefault(row.budget_id, []).append(row)
    rows = []
    for budget in budgets:
        found = current.get(budget.pk) or ([] if coupon else [None])
        for counter in found:
            used = counter.counter if counter else 0
            start, end = starts[budget.pk]
            rows.append(
                {
                    "budget": budget,
                    "coupon": counter.coupon_code if counter else "",
                    "used": used,
                    "percent": min(100, int(used * 100 / budget.limit)) if budget.limit else 100,
                    "start": start,
                    "end": end,
                }
            )
    return rows


class CustomerBudgetsView(CustomerTabView):
    active_tab = TAB
    template_name = "budgets/customer_budgets.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().budgets:
            raise Http404("The budgets module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = BudgetSearchForm(self.request.GET or None)
        search = form.cleaned_data if form.is_valid() else {}
        context["search"] = form
        context["rows"] = budget_rows(
            self.object, campaign=search.get("campaign", ""), coupon=search.get("coupon", "")
        )
        return context
