"""Profile actions, each an EventActionView: a confirmation with a required reason, permission-checked
on the server, registered through the engine with the console user and appended to the change log.
Point and event changes go through content approval (`approval = True`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from customers.fields import attribute_label
from customers.forms import (
    AddEventForm,
    ChangeExpirationForm,
    ManagePointsForm,
    MergeForm,
    TierForm,
    TierRemoveForm,
)
from customers.merge import refusal as merge_refusal
from customers.models import Customer
from events import definitions
from events.engine import resolve_spec
from events.permissions import may_register, registrable_actions
from loyalty.console.formatting import plain
from loyalty.console.views import EventActionView
from loyalty.errors import EngineError
from loyalty.models import CustomerTier, PointBalance, Program

from .base import CustomerMixin, resolve_customer
from .profile import action_choices


class CustomerActionView(CustomerMixin, EventActionView):
    """An event on the customer in the URL, with a reason. Subclasses set `event_action` (who may
    register it: events.permissions.ACTION_PERMISSIONS), `title`, `confirm_text`, optionally
    `module`, `success_tab` and `event_data`."""

    template_name = "customers/customer_action.html"
    module: str | None = None
    success_tab = "customers:customer_overview"

    def dispatch(self, request, *args, **kwargs):
        if (
            self.module
            and request.user.is_authenticated
            and not Program.current().module_enabled(self.module)
        ):
            raise Http404("This module is off.")
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self):
        return self.customer_url(self.success_tab)

    def get_cancel_url(self):
        return self.customer_url()

    def event_customer(self):
        return self.customer

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["customer"] = self.customer
        return context


class SuspendView(CustomerActionView):
    event_action = "suspend"
    title = "Suspend customer"
    confirm_text = "A suspended customer keeps earning points but cannot spend them until unsuspended."
    danger = True


class UnsuspendView(CustomerActionView):
    event_action = "unsuspend"
    title = "Unsuspend customer"
    confirm_text = "The customer can spend points again."


class BanView(CustomerActionView):
    event_action = "ban"
    title = "Ban customer"
    confirm_text = (
        "A banned customer can neither earn nor spend points (a forced opt-out for violating the terms)."
    )
    danger = True


class UnbanView(CustomerActionView):
    event_action = "unban"
    title = "Unban customer"
    confirm_text = "The customer becomes active again."


class OptOutView(CustomerActionView):
    event_action = "opt_out"
    title = "Opt out customer"
    confirm_text = (
        "Opting out removes the customer from the loyalty program and anonymizes their personal data. "
        "This cannot be undone: they may rejoin later, but their history and points will be lost."
    )
    danger = True
    submit_label = "Opt out and anonymize"

    def get_success_url(self):
        return reverse("customers:customer_list")


class ManagePointsView(CustomerActionView):
    form_class = ManagePointsForm
    title = "Manage points"
    success_tab = "customers:customer_points"

    def registered_actions(self) -> list[str]:
        return [op for op, _label in ManagePointsForm.OPERATIONS]

    def has_permission(self) -> bool:
        # Opens for a user who may register any of its operations; the form offers only those.
        user = self.request.user
        return super(EventActionView, self).has_permission() and any(
            may_register(user, op) for op in self.registered_actions()
        )

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "multi_accounts": Program.current().multi_accounts,
            "operations": [op for op in self.registered_actions() if may_register(self.request.user, op)],
        }

    approval = True

    def get_event_action(self, form):
        return form.cleaned_data["operation"]

    def event_data(self, form):
        return form.event_data()

    def event_account(self, form):
        return form.cleaned_data.get("account") or None

    def done_message(self, form):
        verb = dict(ManagePointsForm.OPERATIONS)[form.cleaned_data["operation"]]
        return f"{verb}: {form.cleaned_data['points']} points."


class ChangeExpirationView(CustomerActionView):
    module = "expiring_points"
    form_class = ChangeExpirationForm
    title = "Modify point expiration"
    confirm_text = "Pick the point lots and set their new expiration date."
    success_tab = "customers:customer_points"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    event_action = "change_expiration"
    approval = True

    def event_data(self, form):
        return {
            "lots": [lot.pk for lot in form.cleaned_data["lots"]],
            "expiration_date": form.cleaned_data["expiration_date"].isoformat(),
        }

    def done_message(self, form):
        return f"Expiration changed for {len(form.cleaned_data['lots'])} lot(s)."


class AddEventView(CustomerActionView):
    """Add action: pick an event (`?action=`), then fill the attribute form built from its definition."""

    permission_required = "loyalty.add_customer_events"
    form_class = AddEventForm
    template_name = "customers/customer_add_event.html"
    success_tab = "customers:customer_events"

    def selectable_actions(self) -> list[tuple[str, str]]:
        """The actions this user may register from the console (events.permissions)."""
        allowed = registrable_actions(self.request.user)
        return [
            (a, label)
            for a, label in action_choices()
            if a in allowed
            and not (a in definitions.BUILTIN_ACTIONS and definitions.BUILTIN_ACTIONS[a].internal)
        ]

    def chosen(self):
        action = self.request.GET.get("action") or self.request.POST.get("action")
        if not action:
            return None
        known = action in definitions.BUILTIN_ACTIONS or action in dict(action_choices())
        if known and not may_register(self.request.user, action):
            raise PermissionDenied(f"You may not register {action!r} from the console.")
        if action not in dict(self.selectable_actions()):
            return None
        try:
            return resolve_spec(action)
        except EngineError:
            return None

    @property
    def title(self):
        chosen = self.chosen()
        return f"Add action: {chosen[0].label}" if chosen else "Add action"

    def get_form(self, form_class=None):
        chosen = self.chosen()
        if chosen is None:
            return None
        spec, _custom, extra = chosen
        return AddEventForm(**self.get_form_kwargs(), spec=spec, extra_attrs=extra)

    def post(self, request, *args, **kwargs):
        if self.chosen() is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        chosen = self.chosen()
        context["actions"] = self.selectable_actions()
        context["chosen_action"] = chosen[0].action if chosen else ""
        return context

    approval = True

    def get_event_action(self, form):
        return form.spec.action

    def event_data(self, form):
        return form.event_data()

    def done_message(self, form):
        return f"{form.spec.label} added."


class MergeView(CustomerActionView):
    """Enter the other ID, review which profile stays and what moves, confirm."""

    form_class = MergeForm
    template_name = "customers/customer_merge.html"
    title = "Merge customers"

    def form_valid(self, form):
        try:
            source = resolve_customer(self.request, form.cleaned_data["source"].strip())
        except Http404:
            form.add_error("source", "No customer with this ID.")
            return self.form_invalid(form)
        if source.pk == self.customer.pk:
            form.add_error("source", "A customer cannot be merged into itself.")
            return self.form_invalid(form)
        refused = merge_refusal(source, "source")
        if refused:
            form.add_error("source", refused)
            return self.form_invalid(form)
        if not form.cleaned_data.get("confirmed"):
            data = form.data.copy()
            data["confirmed"] = "True"
            review = MergeForm(data)
            review.is_valid()
            return self.render_to_response(
                self.get_context_data(form=review, review=self.review(source, form))
            )
        return super().form_valid(form)

    def review(self, source: Customer, form) -> dict:
        def figures(customer):
            return {
                "customer": customer,
                "balances": list(PointBalance.objects.filter(customer=customer).select_related("account")),
                "events": customer.events.order_by()[:1001].count(),
                "custom": customer.custom or {},
                "labels": [label.name for label in customer.labels.all()],
            }

        full = form.cleaned_data["mode"] == "full"
        target = self.customer
        copied = {
            k: v for k, v in (source.custom or {}).items() if (target.custom or {}).get(k) in (None, "")
        }
        names = list(target.custom or {}) + [k for k in source.custom or {} if k not in (target.custom or {})]
        custom_rows = [
            {
                "label": attribute_label(name),
                "target": plain((target.custom or {}).get(name)),
                "source": plain((source.custom or {}).get(name)),
            }
            for name in names
        ]
        return {
            "target": figures(target),
            "source": figures(source),
            "full": full,
            "custom_copied": copied if full else {},
            "custom_rows": custom_rows,
        }

    event_action = "merge"

    def event_data(self, form):
        return {"source": form.cleaned_data["source"].strip(), "mode": form.cleaned_data["mode"]}

    def done_message(self, form):
        return f"Customer {form.cleaned_data['source'].strip()} was merged into {self.customer.customer_id}."


class TierActionView(CustomerActionView):
    module = "tiers"
    form_class = TierForm
    success_tab = "customers:customer_tiers"
    event_action = ""
    expiration_required = False

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "expiration_required": self.expiration_required}

    def event_data(self, form):
        data = {"structure": form.cleaned_data["structure"].code}
        if form.cleaned_data.get("expiration_date"):
            data["expiration_date"] = form.cleaned_data["expiration_date"].isoformat()
        return data


class TierUpView(TierActionView):
    event_action = "tier_up"
    title = "Tier up"
    confirm_text = (
        "Moves the customer one tier up. A manually set tier is kept until the customer reaches a higher "
        "one or it expires."
    )


class TierDownView(TierActionView):
    event_action = "tier_down"
    title = "Tier down"
    confirm_text = "Moves the customer one tier down (not below the tier their tier points qualify for)."


class TierRemoveView(CustomerActionView):
    """Takes the customer out of a tier structure (loyalty.tiers.tier_remove); the event names the
    tier held when the form was sent, so the history reads what was removed."""

    module = "tiers"
    form_class = TierRemoveForm
    success_tab = "customers:customer_tiers"
    event_action = "tier_remove"
    title = "Remove tier"
    confirm_text = (
        "Takes the customer out of the tier structure: no tier and no lock until their tier points "
        "place them again (the next event that changes earned points)."
    )
    danger = True

    def event_data(self, form):
        structure = form.cleaned_data["structure"]
        data = {"structure": structure.code}
        held = (
            CustomerTier.objects.filter(customer=self.customer, structure=structure)
            .values_list("tier__code", flat=True)
            .first()
        )
        if held:
            data["tier"] = held
        return data


class TierExpirationView(TierActionView):
    event_action = "tier_expiration_change"
    title = "Change tier expiration"
    confirm_text = "The expiration is recalculated when the next customer action is registered."
    expiration_required = True
