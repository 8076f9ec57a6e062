from django import forms

from loyalty.console.forms import ReasonForm

from .models import REFERRAL_CODE_RE


class CreateCodeForm(ReasonForm):
    code = forms.RegexField(
        regex=REFERRAL_CODE_RE,
        required=False,
        max_length=64,
        help_text="Empty: generated in the program's format.",
        error_messages={"invalid": "3 to 64 letters, digits, '_' or '-'."},
    )
    start_date = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    expiry_date = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: the program's validity (or never).",
    )
    usage_limit = forms.IntegerField(
        required=False, min_value=0, max_value=1_000_000, help_text="0 = unlimited"
    )
    field_order = ["code", "start_date", "expiry_date", "usage_limit", "reason"]

    def event_data(self) -> dict:
        data = {}
        for name in ("code", "usage_limit"):
            if self.cleaned_data.get(name) not in (None, ""):
                data[name] = self.cleaned_data[name]
        for name in ("start_date", "expiry_date"):
            if self.cleaned_data.get(name):
                data[name] = self.cleaned_data[name].isoformat()
        return data


class ImportCodesForm(ReasonForm):
    file = forms.FileField(
        help_text="CSV with the columns code, advocateprofileintegrationid and optionally startdate, "
        "expirydate (ISO 8601) and limitval (empty: 1; 0 = unlimited)."
    )
    field_order = ["file", "reason"]
