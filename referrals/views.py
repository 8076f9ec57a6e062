"""Referrals console: the Referred customers tab (003: session ID, code, referred customer) with
the customer's codes and their redemptions, Create referral code (with a reason), the program's
code list and its CSV export."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.views.generic import View

from customers.views.actions import CustomerActionView
from customers.views.base import CustomerTabView
from loyalty.audit.changes import register_change
from loyalty.console.paging import keyset_page, pager_context
from loyalty.console.views import ConsoleView
from loyalty.models import Program

from .exports import export_codes
from .forms import CreateCodeForm
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
        referred = Referral.objects.filter(advocate=self.object).select_related("code", "friend")
        page = keyset_page(referred, self.request.GET, per_page=25)
        context.update(
            {
                "referred": page.rows,
                "codes": list(ReferralCode.objects.filter(advocate=self.object).order_by("-id")[:50]),
                "referred_by": Referral.objects.filter(friend=self.object)
                .select_related("advocate", "code")
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
