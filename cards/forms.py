import re

from django import forms

from loyalty.console.forms import ReasonForm

from .cards import MAX_BATCH
from .choices import CardStatus
from .models import CARD_CODE_MAX, CARD_CODE_RE, CardSettings

NEW_STATUSES = [(CardStatus.ACTIVE, "Active"), (CardStatus.INACTIVE, "Inactive")]
CODE_ERROR = {
    "invalid": "A card code is made of A-Z a-z 0-9 . _ %% + @ -."
}  # %% : the message is %-formatted


def code_field(label="Card code"):
    return forms.RegexField(
        regex=CARD_CODE_RE, max_length=CARD_CODE_MAX, label=label, error_messages=CODE_ERROR
    )


class CardForm(forms.Form):
    code = code_field()
    status = forms.ChoiceField(choices=NEW_STATUSES)


class GenerateCardsForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=MAX_BATCH, label="Number of cards")
    status = forms.ChoiceField(choices=NEW_STATUSES)


class ImportCardsForm(forms.Form):
    file = forms.FileField(help_text="CSV with the columns identifier and (optionally) status.")


class CardSettingsForm(forms.ModelForm):
    class Meta:
        model = CardSettings
        fields = ["users_per_card_limit", "code_length", "code_prefix"]

    def clean_users_per_card_limit(self):
        value = self.cleaned_data["users_per_card_limit"]
        if value < 1:
            raise forms.ValidationError("At least 1 customer per card.")
        return value

    def clean_code_length(self):
        value = self.cleaned_data["code_length"]
        if not 4 <= value <= 64:
            raise forms.ValidationError("From 4 to 64 characters.")
        return value

    def clean_code_prefix(self):
        value = self.cleaned_data["code_prefix"]
        if value and not re.match(CARD_CODE_RE, value):
            raise forms.ValidationError("A prefix is made of A-Z a-z 0-9 . _ % + @ -.")
        return value


class RegisterCardForm(ReasonForm):
    card = code_field()
    field_order = ["card", "reason"]


class TransferCardForm(ReasonForm):
    new_card = code_field("New card code")
    field_order = ["new_card", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = "Why the old card is blocked (kept as its block reason)."


class CardStatusForm(ReasonForm):
    """Change a card's status; blocked is permanent (lost or stolen cards)."""

    status = forms.ChoiceField(choices=CardStatus.choices)
    field_order = ["status", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = "Why; kept as the block reason when the card is blocked."
