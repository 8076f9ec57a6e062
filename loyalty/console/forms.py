from django import forms


class ReasonForm(forms.Form):
    """Every console action that changes a customer asks for a reason."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Why you are doing this. Stored with the event and in the change log.",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason
