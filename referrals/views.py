"""Referrals console: the Referred customers tab (003: session ID, code, referred customer) with
the customer's codes and their redemptions, Create referral code (with a reason), the program's
code list and its CSV export."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.views.generic import FormView, View

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerTabView
from events.choices import EventSource
from loyalty.audit.changes import register_change
from loyalty.console.paging import keyset_page, pager_context
from loyalty.console.views import ConsoleView
from loyalty.errors import EngineError, ValidationError
from loyalty.models import Program

from .exports import export_codes
from .forms import CreateCodeForm, ImportCodesForm
from .imports import import_codes
from .models import Referral, ReferralCode

TAB = "referrals:customer_referrals"


class CustomerReferralsView(CustomerTabView):
    active_tab = TAB
    template_name = "referrals/customer_referrals.html"

    def get(self, request, *args, **kwargs):
        if not Program.current().referrals:
            raise Http404("The referrals module is off.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Only the columns the tab shows (a customer row has about forty).
        referred = (
            Referral.objects.filter(advocate=self.object)
            .select_related("code", "friend")
            .only(
                "id",
                "transaction_id",
                "code",
                "code__code",
                "friend",
                "friend__customer_id",
                "friend__anonymized_at",
            )
        )
        page = keyset_page(referred, self.request.GET, per_page=25)
        context.update(
            {
                "referred": page.rows,
                "codes": list(ReferralCode.objects.filter(advocate=self.object).order_by("-id")[:50]),
                "referred_by": Referral.objects.filter(friend=self.object)
                .select_related("advocate", "code")
                .only("id", "advocate", "advocate__customer_id", "code", "code__code")
                .first(),
                **pager_context(self.request, page),
            }
        )
        return context


class CreateCodeView(CustomerActionView):
    permission_required = "loyalty.manage_coupons"
    module = "referrals"
    form_class = CreateCodeForm
    success_tab = TAB
    title = "Create referral code"

    def get_cancel_url(self):
        return self.customer_url(TAB)

    def perform(self, form):
        result = register_change(
            user=self.request.user,
            customer=self.customer,
            action="referral_code_create",
            data=form.event_data(),
            reason=form.cleaned_data["reason"],
        )
        return f"Referral code {result.extra.get('referral_code')} created."


class ExportCodesView(ConsoleView, View):
    permission_required = "loyalty.export_data"

    def get(self, request, *args, **kwargs):
        if not Program.current().referrals:
            raise Http404("The referrals module is off.")
        response = StreamingHttpResponse(
            export_codes(request.environment), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="referral-codes.csv"'
        return response


class ImportCodesView(ConsoleView, FormView):
    """Import referral codes from a CSV (referrals.imports: all rows or none; errors name the line)."""

    permission_required = "loyalty.manage_catalog"
    template_name = "cards/card_form.html"
    form_class = ImportCodesForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.current().referrals:
            raise Http404("The referrals module is off.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title="Import referral codes", cancel_url=reverse("customers:customer_list"))
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            if upload.size > 5 * 1024 * 1024:
                raise ValidationError("The file may be at most 5 MB.", field="file")
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError("The file is not UTF-8 text.", field="file") from None
            count = import_codes(
                self.request.environment,
                text,
                source=EventSource.PLATFORM,
                admin_user=self.request.user,
                reason=form.cleaned_data["reason"],
            )
        except EngineError as error:
            form.add_error("file", error.message)
            return self.form_invalid(form)
        messages.success(self.request, f"{count} referral codes imported.")
        return HttpResponseRedirect(reverse("referrals:import_codes"))
