"""The Changes page (filterable by user, customer and date) and the content-approval queue."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from loyalty.console.middleware import ConsoleRequest
from loyalty.console.views import ObjectListView, ReasonActionView
from loyalty.errors import EngineError

from . import changes
from .filtersets import ChangeLogFilterSet, ChangeRequestFilterSet
from .models import ChangeLogEntry, ChangeRequest, RequestStatus
from .tables import ChangeLogTable, ChangeRequestTable


class ChangeListView(ObjectListView):
    title = "Changes"
    filterset_class = ChangeLogFilterSet
    table_class = ChangeLogTable
    actions = [("Approval requests", "audit:request_list", "loyalty.view_console")]

    def get_queryset(self):
        return (
            ChangeLogEntry.objects.filter(environment=self.request.environment)
            .select_related("user", "customer")
            .order_by("-id")
        )


class ChangeRequestListView(ObjectListView):
    title = "Approval requests"
    filterset_class = ChangeRequestFilterSet
    table_class = ChangeRequestTable

    def get_queryset(self):
        return (
            ChangeRequest.objects.filter(environment=self.request.environment)
            .select_related("requested_by", "decided_by", "customer")
            .order_by("-id")
        )


class DecideView(ReasonActionView):
    permission_required = "loyalty.approve_changes"

    def get_object(self) -> ChangeRequest:
        environment = cast(ConsoleRequest, self.request).environment
        return get_object_or_404(ChangeRequest, pk=self.kwargs["pk"], environment=environment)

    def get_success_url(self):
        return reverse("audit:request_list")

    def get_cancel_url(self):
        return reverse("audit:request_list")

    def form_valid(self, form):
        change = self.get_object()
        if change.status != RequestStatus.PENDING:
            messages.warning(
                self.request, f"Request #{change.pk} was already {change.get_status_display().lower()}."
            )
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        change = self.get_object()
        context["confirm_text"] = (
            f"{change.requested_by} asked to register {change.action} {change.data} for "
            f"customer {change.customer.customer_id}: “{change.reason}”."
        )
        return context


class AcceptRequestView(DecideView):
    title = "Accept change request"

    def perform(self, form):
        change = self.get_object()
        try:
            changes.accept(change, approver=self.request.user, note=form.cleaned_data["reason"])
        except changes.AlreadyDecided as error:
            raise EngineError(str(error)) from None
        return f"Request #{change.pk} accepted; the event is registered."


class RejectRequestView(DecideView):
    title = "Reject change request"
    danger = True

    def perform(self, form):
        change = self.get_object()
        try:
            changes.reject(change, approver=self.request.user, note=form.cleaned_data["reason"])
        except changes.AlreadyDecided as error:
            raise EngineError(str(error)) from None
        return f"Request #{change.pk} rejected."
