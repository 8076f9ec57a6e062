"""Forms of the Loyalty points tab (003): Add points, Create subledger, Deduct points, Export
transaction log. Reward start / expiration choices become the point_add attributes
`reward_start` / `reward_expiration` (loyalty.ledger.reward_dates), so the engine validates
them once for the console and the API; its errors land on these fields by name."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms

from loyalty import clock
from loyalty.console.forms import ReasonForm
from loyalty.ledger import log as ledger_log
from loyalty.ledger import reward_dates
from loyalty.ledger.accounts import all_accounts, default_account
from loyalty.models import Program

MAX_POINTS = 10**12
START_MODES = [
    ("default", "Program default"),
    ("immediate", "Immediate"),
    ("relative", "Relative start"),
    ("absolute", "Absolute start"),
]
EXPIRATION_MODES = [
    ("default", "Program default"),
    ("unlimited", "Unlimited"),
    ("relative", "Relative expiration"),
    ("absolute", "Absolute expiration"),
]


def _date_time_input():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RewardDatesMixin(forms.Form):
    """Reward start and reward expiration, each: a mode, then N units (+ option) or a date."""

    reward_start = forms.ChoiceField(choices=START_MODES, initial="default", widget=forms.RadioSelect)
    start_amount = forms.IntegerField(required=False, min_value=1, max_value=10**7, label="Start after")
    start_unit = forms.ChoiceField(required=False, choices=reward_dates.UNIT_CHOICES, label="Unit")
    start_snap = forms.ChoiceField(required=False, choices=reward_dates.SNAP_CHOICES, label="Option")
    start_at = forms.DateTimeField(required=False, widget=_date_time_input(), label="Start on")
    reward_expiration = forms.ChoiceField(
        choices=EXPIRATION_MODES, initial="default", widget=forms.RadioSelect
    )
    expiration_amount = forms.IntegerField(required=False, min_value=1, max_value=10**7, label="Expire after")
    expiration_unit = forms.ChoiceField(required=False, choices=reward_dates.UNIT_CHOICES, label="Unit")
    expiration_snap = forms.ChoiceField(required=False, choices=reward_dates.SNAP_CHOICES, label="Option")
    expiration_at = forms.DateTimeField(required=False, widget=_date_time_input(), label="Expire on")

    def _choice(self, prefix: str, mode_field: str) -> str:
        mode = self.cleaned_data.get(mode_field)
        if mode in ("default", "immediate", "unlimited"):
            return mode
        if mode == "relative":
            amount = self.cleaned_data.get(f"{prefix}_amount")
            if not amount:
                self.add_error(f"{prefix}_amount", "Enter how many units after.")
                return ""
            unit = self.cleaned_data.get(f"{prefix}_unit") or "days"
            snap = self.cleaned_data.get(f"{prefix}_snap") or ""
            return f"{amount} {unit}" + (f"@{snap}" if snap else "")
        if mode == "absolute":
            moment = self.cleaned_data.get(f"{prefix}_at")
            if moment is None:
                self.add_error(f"{prefix}_at", "Enter the date and time.")
                return ""
            return moment.isoformat()
        return ""

    def clean(self):
        cleaned = super().clean()
        self.start_choice = self._choice("start", "reward_start")
        self.expiration_choice = self._choice("expiration", "reward_expiration")
        return cleaned

    def reward_data(self) -> dict:
        data = {}
        if self.start_choice and self.start_choice != "default":
            data["reward_start"] = self.start_choice
        if self.expiration_choice and self.expiration_choice != "default":
            data["reward_expiration"] = self.expiration_choice
        return data


class LedgerChoiceMixin(forms.Form):
    ledger = forms.ChoiceField(label="Ledger")

    def setup_ledgers(self, customer, *, include_subledgers=True) -> None:
        choices = ledger_log.ledgers(customer)
        if not include_subledgers:
            choices = [ledger for ledger in choices if not ledger.is_subledger]
        self.ledger_choices = {ledger.value: ledger for ledger in choices}
        field = cast(forms.ChoiceField, self.fields["ledger"])
        field.choices = [(ledger.value, ledger.label) for ledger in choices]
        if not self.is_bound:
            field.initial = default_account().code

    def ledger_target(self) -> tuple[str, dict]:
        """(program account code, {"subledger": code} or {}) of the chosen ledger."""
        ledger = self.ledger_choices[self.cleaned_data["ledger"]]
        if ledger.is_subledger:
            parent, _, sub = ledger.value.partition("/")
            return parent, {"subledger": sub}
        return ledger.value, {}


class AddPointsForm(LedgerChoiceMixin, RewardDatesMixin, ReasonForm):
    points = forms.IntegerField(min_value=1, max_value=MAX_POINTS)
    field_order = ["ledger", "points", "reason", "reward_start", "reward_expiration"]

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_ledgers(customer)

    def event(self) -> tuple[str, dict]:
        account, target = self.ledger_target()
        return account, {"points": self.cleaned_data["points"], **target, **self.reward_data()}


class CreateSubledgerForm(RewardDatesMixin, ReasonForm):
    account = forms.ChoiceField(label="Loyalty program (account)")
    subledger = forms.RegexField(
        regex=r"^[A-Za-z0-9._-]{1,64}$",
        max_length=64,
        label="Subledger ID",
        error_messages={"invalid": "1 to 64 letters, digits, '.', '_' or '-'."},
    )
    points = forms.IntegerField(min_value=1, max_value=MAX_POINTS)
    field_order = ["account", "subledger", "points", "reason", "reward_start", "reward_expiration"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["account"])
        field.choices = [(a.code, a.name) for a in all_accounts()]
        field.initial = default_account().code

    def event(self) -> tuple[str, dict]:
        data = {
            "points": self.cleaned_data["points"],
            "subledger": self.cleaned_data["subledger"],
            "create_subledger": True,
            **self.reward_data(),
        }
        return self.cleaned_data["account"], data


class DeductPointsForm(LedgerChoiceMixin, ReasonForm):
    points = forms.IntegerField(min_value=1, max_value=MAX_POINTS)
    field_order = ["ledger", "points", "reason"]

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_ledgers(customer)

    def event(self) -> tuple[str, dict]:
        account, target = self.ledger_target()
        return account, {"points": self.cleaned_data["points"], **target}


class ExportLogForm(forms.Form):
    """003: Transaction logs after (required) / before (optional), the Integration ID, a date format."""

    after = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Transaction logs after")
    before = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Transaction logs before"
    )
    integration_id = forms.CharField(max_length=200, label="Integration ID")
    date_format = forms.ChoiceField(
        choices=[(key, label) for key, (label, _pattern) in ledger_log.DATE_FORMATS.items()],
        initial="iso8601",
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        if not self.is_bound:
            self.fields["integration_id"].initial = customer.customer_id

    def clean_integration_id(self):
        value = self.cleaned_data["integration_id"].strip()
        if value != self.customer.customer_id:
            raise forms.ValidationError("This is not the ID of the customer whose log you export.")
        return value

    def clean(self):
        cleaned = super().clean()
        after, before = cleaned.get("after"), cleaned.get("before")
        if after and before and before <= after:
            self.add_error("before", "The end date must be after the start date.")
        return cleaned

    def bounds(self) -> tuple[dt.datetime, dt.datetime | None]:
        """[after, before) as aware date-times: a date names the whole local day in the program's
        time zone (docs/dates-and-bounds.md), like every other date filter; the file's timestamps
        are still written in UTC."""
        before = self.cleaned_data.get("before")
        return clock.day_start(self.cleaned_data["after"]), (clock.day_start(before) if before else None)


def multi_accounts_on() -> bool:
    return Program.current().multi_accounts
