"""Console: Workflows → Pending triggers, the outbox of the Event triggers' action branches with
its dead letters (rows parked as failed after OUTBOX_MAX_ATTEMPTS), as the webhooks' dead-letter
list does for messages. Viewing needs view_console; Retry now, Discard and Retry all failed need
manage_workflows and a reason (the change log). The work is in workflows.pending.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse

from customers.tables import PreorderedData
from loyalty.console.paging import keyset_page, pager_context
from loyalty.console.views import ObjectListView, ReasonActionView

from . import outbox, pending
from .filtersets import PendingTriggerFilterSet
from .models import PendingTrigger
from .tables import PendingTriggerTable
from .views import FailedCountMixin, ModuleMixin

MANAGE = "loyalty.manage_workflows"


class PendingTriggerListView(FailedCountMixin, ModuleMixin, ObjectListView):
    filterset_class = PendingTriggerFilterSet
    table_class = PendingTriggerTable
    title = "Pending triggers"
    template_name = "workflows/pending_list.html"
    per_page = 50

    def get_queryset(self):
        return PendingTrigger.objects.filter(environment=self.request.environment)

    def get_table_data(self):
        self.page = keyset_page(self.object_list, self.request.GET, per_page=self.per_page)
        return PreorderedData(pending.annotate(self.page.rows))

    def get_table_pagination(self, table):
        return False

    def get_table_kwargs(self):
        return {} if self.request.user.has_perm(MANAGE) else {"exclude": ("actions",)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            pager_context(self.request, self.page),
            can_manage=self.request.user.has_perm(MANAGE),
            max_attempts=outbox.max_attempts(),
        )
        return context


class PendingActionView(ModuleMixin, ReasonActionView):
    permission_required = MANAGE

    def get_success_url(self):
        return reverse("workflows:pending_list")

    get_cancel_url = get_success_url

    def row(self) -> PendingTrigger:
        return get_object_or_404(PendingTrigger, pk=self.kwargs["pk"], environment=self.request.environment)


class PendingRetryView(PendingActionView):
    title = "Retry a pending trigger now"
    submit_label = "Retry now"
    confirm_text = (
        "The workflows' action branch for this event is queued for the next drain with a fresh "
        "attempt budget. Steps that already ran are not applied again."
    )

    def perform(self, form):
        row = self.row()
        pending.retry(row.environment, [row.pk], user=self.request.user, reason=form.cleaned_data["reason"])
        return f"Pending trigger #{row.pk} queued."


class PendingDiscardView(PendingActionView):
    title = "Discard a pending trigger"
    submit_label = "Discard"
    danger = True
    confirm_text = (
        "The workflows' action branch for this event is dropped: its workflows never run for it. "
        "The change log keeps what it held and your reason."
    )

    def perform(self, form):
        row = self.row()
        pending.discard(row.environment, row.pk, user=self.request.user, reason=form.cleaned_data["reason"])
        return f"Pending trigger #{row.pk} discarded."


class PendingRetryFailedView(PendingActionView):
    title = "Retry all failed triggers"
    submit_label = "Retry all failed"
    confirm_text = (
        f"Every failed pending trigger (at most {pending.BULK_MAX:,}) is queued for the next drain "
        "with a fresh attempt budget."
    )

    def perform(self, form):
        count = pending.retry_failed(
            self.request.environment, user=self.request.user, reason=form.cleaned_data["reason"]
        )
        return f"{count} failed pending trigger(s) queued." if count else "No failed pending triggers."
