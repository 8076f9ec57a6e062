from django import forms

from loyalty.console.forms import ReasonForm
from loyalty.ledger.accounts import program_accounts

from .models import EarningRule


class ListField(forms.CharField):
    """A comma-separated list stored as a JSON list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [part.strip() for part in (value or "").split(",") if part.strip()]


class EarningRuleForm(forms.ModelForm):
    excluded_categories = ListField(required=False, help_text="comma-separated category names")
    excluded_products = ListField(required=False, help_text="comma-separated product IDs")

    class Meta:
        model = EarningRule
        fields = [
            "account",
            "active",
            "mode",
            "points_per_unit",
            "rounding",
            "minimum_total",
            "category_multipliers",
            "product_multipliers",
            "excluded_categories",
            "excluded_products",
            "first_purchase_bonus",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = program_accounts()  # not customers' subledgers

    def _multipliers(self, name):
        value = self.cleaned_data.get(name) or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Write an object such as {"t-shirts": 2}.')
        for key, factor in value.items():
            if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 0:
                raise forms.ValidationError(f"The multiplier of {key!r} must be a number, 0 or more.")
        return value

    def clean_category_multipliers(self):
        return self._multipliers("category_multipliers")

    def clean_product_multipliers(self):
        return self._multipliers("product_multipliers")

    def clean_points_per_unit(self):
        value = self.cleaned_data["points_per_unit"]
        if value < 0:
            raise forms.ValidationError("Points per unit cannot be negative.")
        return value


class PartialRefundForm(ReasonForm):
    amount = forms.DecimalField(min_value=0.01, max_digits=14, decimal_places=2)

    field_order = ["amount", "reason"]
