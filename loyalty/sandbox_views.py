"""The console page of the sandbox's test clock: see the sandbox's time and advance
it (administrators, `loyalty.manage_settings`; only while working in the sandbox)."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import FormView

from loyalty import sandbox
from loyalty.audit.log import record
from loyalty.console.views import ConsoleView
from loyalty.errors import ValidationError


class AdvanceClockForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=3650, required=False, help_text="Move forward by days…")
    to = forms.DateTimeField(
        required=False,
        label="…or to",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="A moment later than the sandbox's time (program time zone).",
    )

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("days")) == bool(cleaned.get("to")):
            raise forms.ValidationError("Give either a number of days or a date and time.")
        return cleaned


class SandboxClockView(ConsoleView, FormView):
    permission_required = "loyalty.manage_settings"
    form_class = AdvanceClockForm
    template_name = "console/sandbox_clock.html"

    def form_valid(self, form):
        if self.request.environment != sandbox.SANDBOX:
            raise PermissionDenied("The test clock exists only in the sandbox.")
        days, to = form.cleaned_data.get("days"), form.cleaned_data.get("to")
        try:
            if days:
                result = sandbox.advance(by=dt.timedelta(days=days), field="days")
            else:
                result = sandbox.advance(to=to, field="to")
        except ValidationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            return self.form_invalid(form)
        record(
            user=self.request.user,
            action="sandbox_clock_advance",
            environment=sandbox.SANDBOX,
            object_repr="sandbox clock",
            before={},
            after={"now": result["now"]},
        )
        work = result["work"]
        messages.success(
            self.request,
            f"The sandbox's time is now {result['now']}: {work['points']['expired_lots']} lots expired, "
            f"{work['points']['activated_lots']} activated, {work['tiers']['changed']} tier reviews, "
            f"{work['coupons_expired']} coupons expired.",
        )
        return HttpResponseRedirect(reverse("sandbox_clock"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = "Sandbox test clock"
        context["in_sandbox"] = self.request.environment == sandbox.SANDBOX
        context["clock"] = sandbox.status()
        return context
