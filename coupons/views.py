"""Coupons and rewards console: pools and their codes, the rewards catalog, the customer's
Coupons tab with its row actions, and the Claim a reward action."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerChildrenView
from events.permissions import registrable_actions
from loyalty import clock
from loyalty.console.views import ConsoleView, ObjectEditView, ObjectListView
from loyalty.errors import EngineError
from transactions.models import Transaction

from . import pools, rewards
from .filtersets import CouponFilterSet, CouponPoolFilterSet, RewardFilterSet
from .forms import (
    ClaimRewardForm,
    CouponPoolForm,
    ExpirationForm,
    GenerateCodesForm,
    ImportCodesForm,
    RedeemForm,
    RewardForm,
    TransferForm,
)
from .models import Coupon, CouponPool, Reward, RewardBid, RewardClaim
from .tables import CouponPoolTable, CustomerCouponTable, PoolCouponTable, RewardTable

# --- pools and codes --------------------------------------------------------------------------


class PoolListView(ObjectListView):
    title = "Coupon pools"
    filterset_class = CouponPoolFilterSet
    table_class = CouponPoolTable
    queryset = CouponPool.objects.order_by("name")
    actions = [("New coupon pool", "coupons:pool_add", "loyalty.manage_catalog")]


class PoolEditView(ObjectEditView):
    model = CouponPool
    form_class = CouponPoolForm
    permission_required = "loyalty.manage_catalog"
    success_url = reverse_lazy("coupons:pool_list")


class PoolCodesView(ObjectListView):
    filterset_class = CouponFilterSet
    table_class = PoolCouponTable
    template_name = "coupons/pool_codes.html"

    def get_queryset(self):
        self.pool = get_object_or_404(CouponPool, pk=self.kwargs["pk"])
        return Coupon.objects.filter(pool=self.pool).select_related("customer").order_by("-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pool"] = self.pool
        context["title"] = f"Codes of {self.pool}"
        return context


class PoolFillView(ConsoleView, FormView):
    """Generate codes or import them from CSV into one pool (all or nothing)."""

    permission_required = "loyalty.manage_catalog"
    template_name = "coupons/pool_fill.html"

    def dispatch(self, request, *args, **kwargs):
        self.pool = get_object_or_404(CouponPool, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            codes = self.fill(form)
        except EngineError as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        messages.success(self.request, f"{len(codes)} codes added to {self.pool}.")
        return HttpResponseRedirect(reverse("coupons:pool_codes", args=[self.pool.pk]))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"{self.title} — {self.pool}"
        context["cancel_url"] = reverse("coupons:pool_codes", args=[self.pool.pk])
        return context


class GenerateCodesView(PoolFillView):
    form_class = GenerateCodesForm
    title = "Generate codes"

    def fill(self, form):
        return pools.generate_codes(
            self.pool, form.cleaned_data["count"], form.cleaned_data["pattern"] or None
        )


class ImportCodesView(PoolFillView):
    form_class = ImportCodesForm
    title = "Import codes"

    def fill(self, form):
        return pools.import_codes(self.pool, form.cleaned_data["file"])


# --- rewards ----------------------------------------------------------------------------------


class RewardListView(ObjectListView):
    title = "Rewards"
    filterset_class = RewardFilterSet
    table_class = RewardTable
    queryset = Reward.objects.select_related("account").order_by("points", "name")
    actions = [("New reward", "coupons:reward_add", "loyalty.manage_catalog")]


class RewardEditView(ObjectEditView):
    """The reward form; a bidding reward's page lists its bids below it."""

    model = Reward
    form_class = RewardForm
    permission_required = "loyalty.manage_catalog"
    success_url = reverse_lazy("coupons:reward_list")
    template_name = "coupons/reward_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object is not None and self.object.bidding:
            context["bids"] = (
                RewardBid.objects.filter(reward=self.object).select_related("customer").order_by("-id")[:200]
            )
        return context


# --- the customer's Coupons tab and its actions -----------------------------------------------


def coupon_sessions(customer, limit: int = 500) -> dict[str, str]:
    """Coupon code -> the (latest) transaction of the customer it was used in (003's Session
    column; one query over the customer's latest `limit` transactions that used a coupon: the
    others are filtered out by the database, not read here)."""
    sessions: dict[str, str] = {}
    rows = (
        Transaction.objects.filter(customer=customer)
        .exclude(coupon_codes=[])
        .order_by("-id")
        .values_list("transaction_id", "coupon_codes")
    )
    for tid, codes in rows[:limit]:
        for code in codes or []:
            sessions.setdefault(str(code), tid)  # newest first: the latest use wins
    return sessions


class CustomerCouponsView(CustomerChildrenView):
    active_tab = "coupons:customer_coupons"
    template_name = "coupons/customer_coupons.html"
    table_class = CustomerCouponTable
    filterset_class = CouponFilterSet

    def get_children(self, customer):
        return Coupon.objects.filter(customer=customer).select_related("pool").order_by("-claimed_at", "-id")

    def table_kwargs(self):
        return {
            "ref": self.object.customer_id,
            "allowed_actions": registrable_actions(self.request.user),
            "sessions": coupon_sessions(self.object),  # 003's Session column
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["claims"] = RewardClaim.objects.filter(customer=self.object).select_related(
            "reward", "coupon"
        )[:10]
        return context


class CouponActionView(CustomerActionView):
    """One coupon event on the customer holding the coupon in the URL, with a reason."""

    module = "coupons"
    success_tab = "coupons:customer_coupons"
    event_action = ""  # who may: events.permissions.ACTION_PERMISSIONS

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.has_permission():
            self.coupon  # noqa: B018  (a 404 for a code this customer does not hold, before the form)
        return super().dispatch(request, *args, **kwargs)

    @property
    def coupon(self) -> Coupon:
        coupon = (
            Coupon.objects.with_code(self.kwargs["code"])
            .filter(customer=self.customer)
            .select_related("pool")
            .first()
        )
        if coupon is None:
            raise Http404("This customer holds no such coupon.")
        return coupon

    def event_data(self, form) -> dict:
        return {"code": self.coupon.code}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"{self.title} {self.kwargs['code']}"
        return context


class RedeemCouponView(CouponActionView):
    event_action = "coupon_redeem"
    title = "Redeem coupon"
    form_class = RedeemForm
    confirm_text = "Marks the coupon as used."

    def event_data(self, form):
        data = super().event_data(form)
        if form.cleaned_data.get("amount"):
            data["amount"] = str(form.cleaned_data["amount"])
        return data


class InvalidateCouponView(CouponActionView):
    event_action = "coupon_invalidate"
    title = "Invalidate coupon"
    confirm_text = "The coupon can no longer be used."
    danger = True


class UnassignCouponView(CouponActionView):
    event_action = "coupon_unassign"
    title = "Unassign coupon"
    confirm_text = "The coupon goes back to its pool, unassigned."


class TransferCouponView(CouponActionView):
    event_action = "coupon_transfer"
    title = "Transfer coupon"
    form_class = TransferForm
    confirm_text = "The coupon moves to another customer of this environment."

    def event_data(self, form):
        return {**super().event_data(form), "to": form.cleaned_data["to"]}


class CouponExpirationView(CouponActionView):
    event_action = "coupon_expiration_change"
    title = "Change coupon expiration"
    form_class = ExpirationForm
    confirm_text = "The status follows the new date: expired if it has passed, claimed otherwise."

    def event_data(self, form):
        when = form.cleaned_data.get("expiration_date")
        return {**super().event_data(form), "expiration_date": when.isoformat() if when else ""}


class ClaimRewardView(CustomerActionView):
    """Claim a reward for the customer (000 "Claim a reward")."""

    module = "rewards"
    success_tab = "coupons:customer_coupons"
    form_class = ClaimRewardForm
    title = "Claim a reward"
    confirm_text = "The reward's points are spent and what it gives is handed out."

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["rewards"] = rewards.claimable(self.customer, clock.now(self.customer.environment))
        return kwargs

    event_action = "reward"

    def event_data(self, form):
        return {"reward": form.cleaned_data["reward"].pk}

    def done_message(self, form):
        return f"Reward “{form.cleaned_data['reward']}” claimed."
