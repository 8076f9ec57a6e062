"""Profile actions: each a confirmation with a required reason, permission-checked on the server,
registered through `register_event(source="platform", admin_user=..., reason=...)` and appended to
the change log (loyalty.audit.changes). Point and event changes go through content approval."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from customers.forms import AddEventForm, ChangeExpirationForm, ManagePointsForm, MergeForm, TierForm
from customers.models import Customer
from events import definitions
from events.engine import resolve_spec
from events.permissions import ActionPermissionMixin, may_register, registrable_actions
from loyalty.audit.changes import register_change, submit_change
from loyalty.console.views import ReasonActionView
from loyalty.errors import EngineError
from loyalty.models import PointBalance, Program

from .base import CustomerMixin, resolve_customer
from .profile import action_choices


class CustomerActionView(ActionPermissionMixin, CustomerMixin, ReasonActionView):
    """An action on the customer in the URL. Subclasses set `event_action` (whose permission comes
    from events.permissions.ACTION_PERMISSIONS), `title`, `confirm_text`, optionally `module` and
    `success_tab`, and implement `perform(form)`."""

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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["customer"] = self.customer
        return context

    def outcome_message(self, outcome, done: str) -> str:
        if outcome.queued:
            return f"Sent for approval (request #{outcome.request.pk}); it takes effect once an approver accepts it."
        return done


class StatusActionView(CustomerActionView):
    """suspend / unsuspend / ban / unban / opt_out: one event without attributes."""

    event_action = ""

    def perform(self, form):
        register_change(
            user=self.request.user,
            customer=self.customer,
            action=self.event_action,
            data={},
            reason=form.cleaned_data["reason"],
        )
        return f"{self.title}: done."


class SuspendView(StatusActionView):
    event_action = "suspend"
    title = "Suspend customer"
    confirm_text = "A suspended customer keeps earning points but cannot spend them until unsuspended."
    danger = True


class UnsuspendView(StatusActionView):
    event_action = "unsuspend"
    title = "Unsuspend customer"
    confirm_text = "The customer can spend points again."


class BanView(StatusActionView):
    event_action = "ban"
    title = "Ban customer"
    confirm_text = (
        "A banned customer can neither earn nor spend points (a forced opt-out for violating the terms)."
    )
    danger = True


class UnbanView(StatusActionView):
    event_action = "unban"
    title = "Unban customer"
    confirm_text = "The customer becomes active again."


class OptOutView(StatusActionView):
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
        # The page opens for a user who may register any of its operations; the form offers those.
        user = self.request.user
        return ReasonActionView.has_permission(self) and any(
            may_register(user, op) for op in self.registered_actions()
        )

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "multi_accounts": Program.current().multi_accounts,
            "operations": [op for op in self.registered_actions() if may_register(self.request.user, op)],
        }

    def perform(self, form):
        operation = form.cleaned_data["operation"]
        outcome = submit_change(
            user=self.request.user,
            customer=self.customer,
            action=operation,
            data=form.event_data(),
            reason=form.cleaned_data["reason"],
            account=form.cleaned_data.get("account") or None,
        )
        verb = dict(ManagePointsForm.OPERATIONS)[operation]
        return self.outcome_message(outcome, f"{verb}: {form.cleaned_data['points']} points.")


class ChangeExpirationView(CustomerActionView):
    event_action = "change_expiration"
    module = "expiring_points"
    form_class = ChangeExpirationForm
    title = "Modify point expiration"
    confirm_text = "Pick the point lots and set their new expiration date."
    success_tab = "customers:customer_points"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def perform(self, form):
        data = {
            "lots": [lot.pk for lot in form.cleaned_data["lots"]],
            "expiration_date": form.cleaned_data["expiration_date"].isoformat(),
        }
        outcome = submit_change(
            user=self.request.user,
            customer=self.customer,
            action="change_expiration",
            data=data,
            reason=form.cleaned_data["reason"],
        )
        return self.outcome_message(outcome, f"Expiration changed for {len(data['lots'])} lot(s).")


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

    def perform(self, form):
        spec = form.spec
        outcome = submit_change(
            user=self.request.user,
            customer=self.customer,
            action=spec.action,
            data=form.event_data(),
            reason=form.cleaned_data["reason"],
        )
        return self.outcome_message(outcome, f"{spec.label} added.")


class MergeView(CustomerActionView):
    """Enter the other ID, review which profile stays and what moves, confirm."""

    event_action = "merge"

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
        return {
            "target": figures(target),
            "source": figures(source),
            "full": full,
            "custom_copied": copied if full else {},
        }

    def perform(self, form):
        source = form.cleaned_data["source"].strip()
        register_change(
            user=self.request.user,
            customer=self.customer,
            action="merge",
            data={"source": source, "mode": form.cleaned_data["mode"]},
            reason=form.cleaned_data["reason"],
        )
        return f"Customer {source} was merged into {self.customer.customer_id}."


class TierActionView(CustomerActionView):
    module = "tiers"
    form_class = TierForm
    success_tab = "customers:customer_tiers"
    event_action = ""
    expiration_required = False

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "expiration_required": self.expiration_required}

    def perform(self, form):
        data = {"structure": form.cleaned_data["structure"].code}
        if form.cleaned_data.get("expiration_date"):
            data["expiration_date"] = form.cleaned_data["expiration_date"].isoformat()
        register_change(
            user=self.request.user,
            customer=self.customer,
            action=self.event_action,
            data=data,
            reason=form.cleaned_data["reason"],
        )
        return f"{self.title}: done."


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


class TierExpirationView(TierActionView):
    event_action = "tier_expiration_change"
    title = "Change tier expiration"
    confirm_text = "The expiration is recalculated when the next customer action is registered."
    expiration_required = True
