from django import forms

from .models import Budget


class BudgetForm(forms.ModelForm):
    limit = forms.IntegerField(
        min_value=0, max_value=10**15, help_text="per customer and period; 0 blocks the action"
    )

    class Meta:
        model = Budget
        fields = ["campaign", "action", "limit", "period", "per_coupon", "active"]


class BudgetSearchForm(forms.Form):
    """003: search the Budgets tab by campaign name and coupon code (exact strings)."""

    campaign = forms.CharField(required=False, max_length=200)
    coupon = forms.CharField(required=False, max_length=200, label="Coupon code")
