"""Forms of the settings area: program, point accounts, tier structures and tiers, custom fields.

Each form refuses what would leave the program in a state the engine cannot work with (no default
account, an external-ID field turned back into a plain one, a tier in use deleted) with an error
on the field, so a bad submission changes nothing.
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from loyalty.choices import Module
from loyalty.console.forms import IdsChoiceField, rows_not_on_the_page
from loyalty.ledger.accounts import refresh_customer_totals
from loyalty.models import PointAccount, Program, Tier, TierStructure
from loyalty.models.ledger import ExpirationRule
from loyalty.models.tiers import CustomerTier

# The settings page shows the module switches in these groups, in this order.
MODULE_GROUPS: list[tuple[str, list[Module]]] = [
    ("Insights", [Module.DASHBOARD]),
    ("Points", [Module.MULTI_ACCOUNTS, Module.EXPIRING_POINTS, Module.TIERS, Module.TIERED_CAMPAIGNS]),
    (
        "Commerce",
        [Module.TRANSACTIONS, Module.CHECKOUT_ACCEPT, Module.COUPONS, Module.REWARDS, Module.BUDGETS],
    ),
    (
        "Engagement",
        [
            Module.SEGMENTS,
            Module.WORKFLOWS,
            Module.REFERRALS,
            Module.ACHIEVEMENTS,
            Module.PASSES,
            Module.LOYALTY_CARDS,
        ],
    ),
    (
        "Integration and governance",
        [
            Module.SYNC,
            Module.WEBHOOKS,
            Module.INCOMING_WEBHOOKS,
            Module.ANONYMOUS_REGISTRATION,
            Module.CUSTOMER_VERIFICATION,
            Module.CONTENT_APPROVAL,
        ],
    ),
]

MODULE_HELP = {
    Module.MULTI_ACCOUNTS: "Several point currencies; events may name an account other than the default.",
    Module.EXPIRING_POINTS: "Points expire by each account's expiration rule.",
    Module.TIERS: "Customers move between tiers by their tier points.",
    Module.CHECKOUT_ACCEPT: "Checkouts stay pending until accepted (needs Transactions).",
    Module.ANONYMOUS_REGISTRATION: "Events for unknown customer IDs create a customer instead of failing.",
    Module.CUSTOMER_VERIFICATION: "New customers start as pending until they verify.",
    Module.CONTENT_APPROVAL: "Content changes wait for an approver.",
    Module.SYNC: "The profile's Sync tab and Resync button (needs Webhooks).",
    Module.WEBHOOKS: "Trusted sites, subscriptions and the webhook log: tell other systems what happened.",
    Module.INCOMING_WEBHOOKS: "Endpoints under /api/hooks/ that turn other systems' requests into events.",
    Module.DASHBOARD: "The console's home page of program figures and its CSV downloads (off: home opens Customers).",
}

# Modules that only make sense with another one on.
MODULE_REQUIRES = {
    Module.CHECKOUT_ACCEPT: Module.TRANSACTIONS,
    Module.TIERED_CAMPAIGNS: Module.TIERS,
    Module.SYNC: Module.WEBHOOKS,
}

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def clean_currency(value: str) -> str:
    value = (value or "").strip().upper()
    if not CURRENCY_RE.match(value):
        raise ValidationError("Use a three-letter ISO 4217 code, for example EUR.")
    return value


class ProgramSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices, help_text="Dates in the console use this time zone."
    )

    class Meta:
        model = Program
        fields = ["name", "base_currency", "time_zone", *[m.value for m in Module]]
        help_texts = {"base_currency": "Three-letter code; transaction amounts are in this currency."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for module in Module:
            field = self.fields[module.value]
            field.label = module.label
            field.help_text = MODULE_HELP.get(module, "")

    def clean_base_currency(self):
        return clean_currency(self.cleaned_data["base_currency"])

    def clean(self):
        cleaned = super().clean()
        for module, needed in MODULE_REQUIRES.items():
            if cleaned.get(module.value) and not cleaned.get(needed.value):
                self.add_error(module.value, f"{module.label} needs the {needed.label} module.")
        return cleaned

    def grouped_modules(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[m.value] for m in modules]) for title, modules in MODULE_GROUPS]


class PointAccountForm(forms.ModelForm):
    burn_rates = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "code"}),
        help_text='[{"amount": 1, "points": 100, "currency": "EUR"}]: what points are worth when spent, per currency',
    )

    class Meta:
        model = PointAccount
        fields = [
            "code",
            "name",
            "is_default",
            "burn_rates",
            "expiration_rule",
            "expiration_period",
            "expiration_unit",
            "expiration_date",
            "expiration_rounding",
        ]
        labels = {"is_default": "Default account", "expiration_date": "Expiration date (MM-DD)"}
        help_texts = {
            "code": "Used in events and the API (account=…). Cannot be changed later.",
            "is_default": "Events without an account use the default one. Exactly one account is the default.",
            "expiration_period": "For the fixed-period and dynamic rules.",
            "expiration_rounding": "Moves each expiration date to the end of the day, week, month, …",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.was_default = bool(self.instance.pk and self.instance.is_default)
        if self.instance.pk:
            # Events and API clients refer to the account by code.
            self.fields["code"].disabled = True

    def _get_validation_exclusions(self):
        # The one-default constraint holds because save() demotes the old default first;
        # checking it before that would refuse every change of default.
        return super()._get_validation_exclusions() | {"is_default"}

    def clean_code(self):
        # Codes are unique among program accounts (a partial unique index since customers'
        # subledgers are accounts too), which ModelForm's checks do not cover.
        code = self.cleaned_data["code"]
        taken = PointAccount.objects.filter(owner__isnull=True, code=code).exclude(pk=self.instance.pk)
        if not self.instance.pk and taken.exists():
            raise ValidationError("Point account with this Code already exists.")
        return code

    def clean_is_default(self):
        value = self.cleaned_data["is_default"]
        if self.was_default and not value:
            raise ValidationError(
                "Make another account the default instead; one account must be the default."
            )
        return value

    def clean_burn_rates(self):
        rates = self.cleaned_data["burn_rates"]
        if rates in (None, ""):
            return []
        if not isinstance(rates, list):
            raise ValidationError("Enter a list of rates, for example [].")
        seen = set()
        for index, rate in enumerate(rates, start=1):
            if not isinstance(rate, dict) or set(rate) != {"amount", "points", "currency"}:
                raise ValidationError(f"Rate {index}: give exactly amount, points and currency.")
            try:
                amount = Decimal(str(rate["amount"]))
            except (InvalidOperation, ValueError):
                raise ValidationError(f"Rate {index}: amount must be a number.")
            if not amount.is_finite() or amount <= 0:
                raise ValidationError(f"Rate {index}: amount must be a positive number.")
            points = rate["points"]
            if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
                raise ValidationError(f"Rate {index}: points must be a positive whole number.")
            try:
                rate["currency"] = clean_currency(str(rate["currency"]))
            except ValidationError:
                raise ValidationError(f"Rate {index}: currency must be a three-letter code.")
            if rate["currency"] in seen:
                raise ValidationError(f"Rate {index}: {rate['currency']} has two rates.")
            seen.add(rate["currency"])
        return rates

    def clean_expiration_period(self):
        value = self.cleaned_data["expiration_period"]
        if value is not None and value < 1:
            raise ValidationError("The period is at least 1.")
        if value is not None and value > PERIOD_MAX:  # expiry arithmetic stays in the columns (§6)
            raise ValidationError(f"The period is at most {PERIOD_MAX}.")
        return value

    def clean(self):
        cleaned = super().clean()
        date = (cleaned.get("expiration_date") or "").strip()
        if cleaned.get("expiration_rule") == ExpirationRule.ABSOLUTE:
            match = MONTH_DAY_RE.match(date)
            valid = (
                bool(match)
                and 1 <= int(match[1]) <= 12
                and 1 <= int(match[2]) <= DAYS_IN_MONTH[int(match[1]) - 1]
            )
            if not valid:
                self.add_error(
                    "expiration_date", "The absolute rule needs a date as MM-DD, for example 12-31."
                )
        elif date:
            self.add_error("expiration_date", "Only the absolute rule uses a date; leave it empty.")
        cleaned["expiration_date"] = date
        return cleaned

    def save(self, commit=True):
        account = super().save(commit=False)
        if commit:
            if account.is_default:
                # One default at a time (a unique constraint): demote the old one first. Locking
                # the current default makes two admins changing it at once take turns instead of
                # the second one failing on the constraint. Callers wrap this in a transaction.
                list(PointAccount.objects.select_for_update().filter(is_default=True))
                demoted = (
                    PointAccount.objects.filter(is_default=True)
                    .exclude(pk=account.pk)
                    .update(is_default=False)
                )
            account.save()
            if account.is_default and demoted:
                # The customers' top-level figures are the default account's.
                refresh_customer_totals()
        return account


class TierStructureForm(forms.ModelForm):
    class Meta:
        model = TierStructure
        fields = [
            "code",
            "name",
            "accounts",
            "qualification_months",
            "tier_validity_months",
            "expiration_method",
            "position",
        ]
        widgets = {"accounts": forms.CheckboxSelectMultiple}
        field_classes = {"accounts": IdsChoiceField}
        help_texts = {"code": "Cannot be changed later.", "position": "Order of the structures in lists."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True

    def clean_qualification_months(self):
        return _positive_or_empty(self.cleaned_data["qualification_months"])

    def clean_tier_validity_months(self):
        return _positive_or_empty(self.cleaned_data["tier_validity_months"])


PERIOD_MAX = 1000  # days, weeks, months or years: at most a thousand of them
MONTHS_MAX = 1200


def _positive_or_empty(value):
    if value is not None and value < 1:
        raise ValidationError("Leave it empty or give at least 1 month.")
    if value is not None and value > MONTHS_MAX:
        raise ValidationError(f"At most {MONTHS_MAX} months.")
    return value


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["code", "name", "threshold"]
        help_texts = {"threshold": "tier points needed"}

    def clean_threshold(self):
        value = self.cleaned_data["threshold"]
        if value is not None and value < 0:
            raise ValidationError("A threshold is zero or more tier points.")
        return value


_RELOAD = " (one of them may have been saved since this page was loaded: reload it to see)."


class BaseTierFormSet(forms.BaseInlineFormSet):
    """Tier codes and thresholds are unique within a structure; a tier customers hold stays."""

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        codes: set[str | None] = set()
        thresholds: set[int | None] = set()
        for saved in rows_not_on_the_page(self):
            codes.add(saved.code)
            thresholds.add(saved.threshold)
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            if self.can_delete and form.cleaned_data.get("DELETE"):
                tier = form.instance
                if tier.pk and CustomerTier.objects.filter(tier=tier).exists():
                    raise ValidationError(f"Tier “{tier}” is held by customers and cannot be deleted.")
                continue
            code, threshold = form.cleaned_data.get("code"), form.cleaned_data.get("threshold")
            if code in codes:
                raise ValidationError(f"Two tiers use the code “{code}”{_RELOAD}")
            if threshold in thresholds:
                raise ValidationError(f"Two tiers have the threshold {threshold}{_RELOAD}")
            codes.add(code)
            thresholds.add(threshold)


TierFormSet = forms.inlineformset_factory(
    TierStructure, Tier, form=TierForm, formset=BaseTierFormSet, extra=2, can_delete=True
)
