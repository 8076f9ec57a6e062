from django import forms

from loyalty.choices import Environment

from .models import DEFAULT_RATE_LIMIT, Scope


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="who uses it, e.g. “Web shop” or “POS Berlin”")
    environment = forms.ChoiceField(
        choices=Environment.choices, help_text="the key sees only this environment's customers"
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, initial=[s.value for s in Scope], widget=forms.CheckboxSelectMultiple
    )
    rate_limit = forms.IntegerField(
        min_value=1, max_value=1_000_000, initial=DEFAULT_RATE_LIMIT, help_text="requests per minute"
    )
    allow_unsigned = forms.BooleanField(
        required=False,
        label="Allow unsigned requests (?api_key=)",
        help_text="For testing only: anyone who sees the key in a URL or a log can use it.",
    )


class ConfirmForm(forms.Form):
    """No fields: the POST itself is the confirmation."""
