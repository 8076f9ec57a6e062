"""The profile's base view: resolves the customer from the URL and renders the header."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse

from customers.lookup import find_customer
from customers.models import Customer
from customers.tabs import CUSTOMER_TABS, PROFILE_ACTIONS
from events.permissions import may_register
from loyalty import clock
from loyalty.console.reversing import reverser
from loyalty.console.views import ObjectChildrenView, TabbedDetailView
from loyalty.errors import EngineError
from loyalty.models import Program
from loyalty.tiers import first_structure_tiers, structures
from transactions.sessions import profile_summary


def resolve_customer(request, ref: str, *, anonymized: bool = False) -> Customer:
    """The live customer `ref` names (customer ID or `field:value`) in the console's environment.

    Unknown customers are a 404, as is a `field:value` whose field is not an external ID. An
    opted-out customer is found by its anonymized ID only when `anonymized` is asked for (the
    read-only profile tabs); by its old ID it stays a 404."""
    try:
        customer = find_customer(request.environment, ref)
    except EngineError:
        raise Http404("No such customer.") from None
    if customer is None and anonymized and "\x00" not in ref:
        customer = (
            Customer.objects.filter(
                environment=request.environment, customer_id=ref, anonymized_at__isnull=False
            )
            .order_by("-anonymized_at")
            .first()
        )
    if customer is None:
        raise Http404("No such customer.")
    return customer


def header_tier(customer):
    """The header's Tier: the first structure's tier as it is now (loyalty.tiers.effective_rows)."""
    if not Program.current().tiers or not customer.tier_id:
        return None
    first = first_structure_tiers([customer], clock.now(customer.environment))
    if customer.pk in first:
        return first[customer.pk]
    # The stored tier, from the tier structures kept in process memory (no query).
    for _structure, tiers, _accounts in structures():
        for tier in tiers:
            if tier.pk == customer.tier_id:
                return tier
    return customer.tier


def visible_actions(request, customer) -> list[dict]:
    """Header buttons this user may use on this customer (the views check again)."""
    program = Program.current()
    actions = []
    url_of = reverser()
    for action in PROFILE_ACTIONS:
        if action.module and not program.module_enabled(action.module):
            continue
        if action.actions:
            if not any(may_register(request.user, event) for event in action.actions):
                continue
        elif not request.user.has_perm(action.permission):
            continue
        if action.show_if and not action.show_if(customer):
            continue
        url = url_of(action.url_name, ref=customer.customer_id)
        actions.append({"label": action.label, "url": url, "danger": action.danger, "group": action.group})
    return actions


class CustomerMixin:
    """Resolves `self.customer` from the `ref` URL kwarg once per request."""

    # Provided by the view this is mixed into.
    request: HttpRequest
    kwargs: dict[str, Any]

    _customer: Customer | None = None
    # Read-only pages show an opted-out customer's anonymized profile; actions never act on one.
    shows_anonymized = False

    @property
    def customer(self) -> Customer:
        if self._customer is None:
            self._customer = resolve_customer(
                self.request, self.kwargs["ref"], anonymized=self.shows_anonymized
            )
        return self._customer

    def customer_url(self, url_name: str = "customers:customer_overview", **kwargs) -> str:
        return reverse(url_name, kwargs={"ref": self.customer.customer_id, **kwargs})


class CustomerTabView(CustomerMixin, TabbedDetailView):
    """Base of every profile tab: `/customers/<ref>/<tab>/`.

    Subclasses set `active_tab` (its URL name), `template_name` (extending
    customers/customer_base.html, block `tab_content`) and add their own queries in
    get_context_data. See customers/tabs.py for adding a tab."""

    tabs = CUSTOMER_TABS
    context_object_name = "customer"
    shows_anonymized = True

    def get_object(self, queryset=None):
        return self.customer

    def tab_url_kwargs(self, obj) -> dict:
        return {"ref": obj.customer_id}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        actions = [] if self.object.anonymized_at else visible_actions(self.request, self.object)
        context["main_actions"] = [a for a in actions if a.get("group") == "main"]
        context["more_actions"] = [a for a in actions if a.get("group") != "main"]
        context["title"] = self.object.name or self.object.customer_id
        context["customer_tier"] = header_tier(self.object)
        # 003's profile header: orders and revenue of the closed sessions.
        if Program.current().transactions:
            context["profile_summary"] = profile_summary(self.object)
        return context


class CustomerChildrenView(CustomerTabView, ObjectChildrenView):
    """A profile tab listing the customer's children (coupons, transactions...) in a filtered
    table: set `table_class`, `filterset_class` and implement `get_children(customer)`."""
