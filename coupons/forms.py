from django import forms

from customers.choices import CustomerStatus
from loyalty import clock
from loyalty.bounds import POINTS_MAX, YEAR_MAX, YEAR_MIN
from loyalty.console.forms import IdsChoiceField, PlausibleDateTimeField, ReasonForm, check_future
from loyalty.ledger.accounts import program_accounts

from . import pool_config
from .choices import PoolSource
from .models import CouponPool, Reward

VALIDITY_DAYS_MAX = 36500  # a century: coupon expiry arithmetic stays in the columns
# The pool form's fields that are Coupon Pools API attributes: coupons.pool_config's rules check them.
POOL_RULE_FIELDS = (
    "name", "type", "value", "currency", "source", "external_id", "purchase_minimum",
    "minimum_value", "minimum_redemption_value", "expiration_time", "aggregated",
)  # fmt: skip


def _dates_in_bounds(form, data) -> None:
    """valid_from / valid_until within the engine's date bounds (loyalty.bounds)."""
    for name in ("valid_from", "valid_until"):
        value = data.get(name)
        if value is not None and not YEAR_MIN <= value.year <= YEAR_MAX:
            form.add_error(name, f"Give a date between {YEAR_MIN} and {YEAR_MAX}.")


class CouponPoolForm(forms.ModelForm):
    class Meta:
        model = CouponPool
        fields = [
            "name",
            "type",
            "value",
            "currency",
            "valid_from",
            "valid_until",
            "validity_days",
            "usage_limit",
            "code_pattern",
            "active",
            "source",
            "external_id",
            "purchase_minimum",
            "minimum_value",
            "minimum_redemption_value",
            "expiration_time",
            "aggregated",
        ]
        widgets = {
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].required = False  # informational: uploaded unless said otherwise

    def clean_source(self):
        return self.cleaned_data.get("source") or PoolSource.UPLOADED

    def clean_valid_until(self):
        value = self.cleaned_data.get("valid_until")
        changed = "valid_until" in self.changed_data
        if value is not None and changed:
            check_future(value, clock.today())
        return value

    def clean(self):
        data = super().clean()
        _dates_in_bounds(self, data)
        if (data.get("validity_days") or 0) > VALIDITY_DAYS_MAX:
            self.add_error("validity_days", f"At most {VALIDITY_DAYS_MAX} days.")
        if data.get("valid_from") and data.get("valid_until") and data["valid_until"] <= data["valid_from"]:
            raise forms.ValidationError("The pool must be valid until after it starts.")
        if data.get("usage_limit") == 0:
            self.add_error("usage_limit", "A coupon must be usable at least once.")
        self._check_api_attributes(data)
        return data

    def _check_api_attributes(self, data) -> None:
        """The pool rules of coupons.pool_config — the Coupon Pools API's, one source — each
        error's message on its field; the values they normalize (a stripped external ID, an
        upper-case currency) are the ones saved. Editing checks what changed, as the API's
        update does (plus type and value, which the other rules read)."""
        names = [name for name in POOL_RULE_FIELDS if name in data and name not in self.errors]
        if self.instance.pk:
            names = [name for name in names if name in self.changed_data or name in ("type", "value")]
        given = {name: data[name] for name in names}
        if "external_id" in given:
            given["external_id"] = (given["external_id"] or "").strip() or None
        probe = CouponPool(
            pk=self.instance.pk,
            type=data.get("type") or self.instance.type,
            value=data["value"] if data.get("value") is not None else self.instance.value,
        )
        fields, errors = pool_config.check_attributes(given, probe)
        data.update(fields)
        for name, error in errors.items():
            if name not in self.errors:  # a field's own error (not a number...) stays the one shown
                self.add_error(name if name in self.fields else None, error.message)


class RewardForm(forms.ModelForm):
    eligible_statuses = forms.MultipleChoiceField(
        choices=[
            (s.value, s.label)
            for s in (CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING)
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="none ticked: active, inactive and pending",
    )

    class Meta:
        model = Reward
        fields = [
            "name",
            "description",
            "image_url",
            "points",
            "account",
            "stock",
            "per_customer_limit",
            "valid_from",
            "valid_until",
            "eligible_statuses",
            "eligible_tiers",
            "segment",
            "gives",
            "pool",
            "points_given",
            "bidding",
            "starting_bid",
            "bid_step",
            "active",
        ]
        field_classes = {"eligible_tiers": IdsChoiceField}
        widgets = {
            "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def clean(self):
        data = super().clean()
        _dates_in_bounds(self, data)
        for name in ("points", "points_given"):
            if (data.get(name) or 0) > POINTS_MAX:
                self.add_error(name, f"At most {POINTS_MAX} points.")
        if data.get("gives") == "coupon" and not data.get("pool"):
            self.add_error("pool", "A reward that gives a coupon needs a coupon pool.")
        if data.get("gives") == "points" and not data.get("points_given"):
            self.add_error("points_given", "How many points does the reward give?")
        if data.get("valid_from") and data.get("valid_until") and data["valid_until"] <= data["valid_from"]:
            raise forms.ValidationError("The reward must be valid until after it starts.")
        if data.get("bidding"):
            self._clean_auction(data)
        if self.instance.pk and data.get("stock") is not None and data["stock"] < self.instance.claimed_count:
            self.add_error("stock", f"{self.instance.claimed_count} have been claimed already.")
        return data

    def _clean_auction(self, data) -> None:
        """A bidding reward runs from 'valid from' to 'valid until' (the end is required); its
        settings cannot change once someone has bid (coupons.auctions)."""
        if not data.get("valid_until"):
            self.add_error("valid_until", "A bidding reward needs an end: the auction closes then.")
        elif data["valid_until"] <= clock.now() and data["valid_until"] != self.instance.valid_until:
            self.add_error("valid_until", "The auction's end has passed: give an end in the future.")
        for name in ("starting_bid", "bid_step"):
            if (data.get(name) or 0) > POINTS_MAX:
                self.add_error(name, f"At most {POINTS_MAX} points.")
        if not data.get("bid_step"):
            self.add_error("bid_step", "The bid step must be at least 1 point.")
        if self.instance.pk and self.instance.bids.exists():
            for name in ("bidding", "starting_bid", "bid_step", "account"):
                if data.get(name) != getattr(self.instance, name):
                    self.add_error(name, "Customers have bid on this reward; this cannot change any more.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = program_accounts()  # not customers' subledgers
        for name in ("starting_bid", "bid_step"):  # only bidding rewards need them
            self.fields[name].required = False

    def clean_starting_bid(self):
        value = self.cleaned_data.get("starting_bid")
        return 0 if value is None else value

    def clean_bid_step(self):
        value = self.cleaned_data.get("bid_step")
        return 1 if value is None else value

    def clean_bidding(self):
        bidding = self.cleaned_data.get("bidding")
        if self.instance.pk and self.instance.bidding and not bidding and self.instance.bids.exists():
            raise forms.ValidationError("Customers have bid on this reward; it stays a bidding reward.")
        return bidding


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=100_000, initial=100)
    pattern = forms.CharField(
        max_length=64, required=False, help_text="? = a random character; empty: the pool's"
    )


class ImportCodesForm(forms.Form):
    file = forms.FileField(help_text="CSV: one code per row in the first column; a header 'code' is skipped")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The file may be at most 5 MB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file must be UTF-8 text.") from None


class TransferForm(ReasonForm):
    to = forms.CharField(label="Customer ID or e-mail", max_length=254, help_text="case-insensitive")
    field_order = ["to", "reason"]


class ExpirationForm(ReasonForm):
    expiration_date = PlausibleDateTimeField(required=False, help_text="empty: never expires")
    field_order = ["expiration_date", "reason"]


class RedeemForm(ReasonForm):
    amount = forms.DecimalField(
        required=False,
        min_value=0.01,
        max_digits=14,
        decimal_places=2,
        help_text="gift cards: the amount to take off the balance (empty: all of it)",
    )
    field_order = ["amount", "reason"]


class ClaimRewardForm(ReasonForm):
    reward = forms.ModelChoiceField(queryset=Reward.objects.none())
    field_order = ["reward", "reason"]

    def __init__(self, *args, rewards=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Bidding rewards are won by bidding (the Display API's .../bid), never claimed here.
        self.fields["reward"].queryset = Reward.objects.filter(pk__in=[r.pk for r in rewards], bidding=False)
        self.fields["reward"].label_from_instance = lambda r: f"{r.name} — {r.points} points"
