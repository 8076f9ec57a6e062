"""The customer list: filter bar, Filter button, quick search, keyset pages, capped count."""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.urls import reverse

from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from customers.tables import CustomerTable, PreorderedData
from loyalty.console.paging import capped_count, keyset_page, pager_context
from loyalty.console.views import MAX_PER_PAGE, ObjectListView
from loyalty.models import Program
from segments.conditions import NO_VALUE, OPERATORS, Condition, ConditionError, available_attributes

from .base import resolve_customer

# The condition row's attribute to start with: e-mail, what an agent most often looks a customer up by.
DEFAULT_ATTRIBUTE = "email"

# ?sort= value -> the indexed column it sorts on (customers migration 0003/console indexes).
SORTS = {
    "name": "last_name",
    "email": "email",
    "score": "score",
    "spent": "spent",
    "expired": "expired",
    "spendable": "spendable",
    "customer_id": "customer_id",
}


class CustomerListView(ObjectListView):
    title = "Customers"
    filterset_class = CustomerFilterSet
    table_class = CustomerTable
    template_name = "customers/customer_list.html"
    results_template_name = "customers/customer_list.html"
    actions = [("Create customer", "customers:customer_add", "loyalty.change_customer_profile")]

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["segments_enabled"] = Program.current().segments
        return kwargs

    def get_queryset(self):
        # Anonymized (opted-out) customers are listed only when filtered by that status.
        return Customer.objects.filter(environment=self.request.environment).select_related("tier")

    def get(self, request, *args, **kwargs):
        # The filter bar's "add condition" row (nf/no/nv) becomes one more ?f=field:op:value, so
        # the canonical URL is what gets bookmarked.
        if "nf" in request.GET:
            field, op, value = (
                request.GET.get("nf", ""),
                request.GET.get("no", "eq"),
                request.GET.get("nv", ""),
            )
            params = request.GET.copy()
            for key in ("nf", "no", "nv", "after", "before"):
                params.pop(key, None)
            # The one filter form sends the condition row with every search: an empty value adds
            # no condition (unless the operator takes none).
            if field and (value.strip() or op in NO_VALUE):
                params.appendlist("f", str(Condition(field, op, value)))
            query = params.urlencode()
            return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
        # A quick search for an external ID (`card:C-777`) opens that customer (001, Management UI).
        query = request.GET.get("q", "").strip()
        if ":" in query and "\x00" not in query:
            try:
                customer = resolve_customer(request, query)
            except Http404:
                customer = None
            if customer is not None:
                return HttpResponseRedirect(
                    reverse("customers:customer_overview", args=[customer.customer_id])
                )
        return super().get(request, *args, **kwargs)

    def per_page(self) -> int:
        try:
            return max(1, min(int(self.request.GET.get("per_page", self.paginate_by)), MAX_PER_PAGE))
        except ValueError:
            return self.paginate_by

    def sort(self) -> tuple[str, str, bool]:
        """(sort parameter, column, descending); unknown sorts fall back to newest first."""
        raw = self.request.GET.get("sort", "")
        name = raw.lstrip("-")
        if name in SORTS:
            return raw, SORTS[name], raw.startswith("-")
        return "", "id", True

    def filtered_queryset(self):
        return self.filterset.visible(self.object_list)

    def get_table_data(self):
        _, column, descending = self.sort()
        qs = self.filtered_queryset()
        self.page = keyset_page(
            qs, self.request.GET, column=column, descending=descending, per_page=self.per_page()
        )
        return PreorderedData(self.page.rows)

    def get_table_pagination(self, table):
        return False

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # A search matching more customers than customers.search.CAP is not counted: a count would
        # visit every match (the page itself walks an ordered index and stops after one page).
        overflow = self.filterset.search_overflow
        count, capped = (None, True) if overflow else capped_count(self.filtered_queryset())
        request = self.request
        attributes = available_attributes()
        conditions = []
        raw_conditions = request.GET.getlist("f")
        for index, text in enumerate(raw_conditions):
            remaining = raw_conditions[:index] + raw_conditions[index + 1 :]
            params = request.GET.copy()
            params.setlist("f", remaining)
            for key in ("after", "before"):
                params.pop(key, None)
            try:
                label = Condition.parse(text).describe(attributes)
            except ConditionError:
                label = text
            conditions.append(
                {"text": text, "label": label, "remove_url": f"{request.path}?{params.urlencode()}"}
            )
        clear = request.GET.copy()
        for key in ("f", "after", "before"):
            clear.pop(key, None)
        context.update(
            {
                **pager_context(request, self.page),
                "count": count,
                "count_capped": capped,
                "search_overflow": overflow,
                "conditions": conditions,
                "clear_conditions_url": f"{request.path}?{clear.urlencode()}",
                "attributes": sorted(attributes.values(), key=lambda a: (a.custom, a.label)),
                "operators": OPERATORS.items(),
                "kept_params": [
                    (k, v)
                    for k, values in request.GET.lists()
                    for v in values
                    if k not in ("after", "before", "nf", "no", "nv")
                ],
                "filter_form_fields": ["q", "status", "gender", "country", "tier", "segment", "list"],
                # The condition row starts on the attribute people look customers up by.
                "default_attribute": DEFAULT_ATTRIBUTE,
            }
        )
        return context
