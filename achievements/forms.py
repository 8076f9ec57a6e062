from django import forms

from .choices import Activation, Counts
from .models import API_NAME_RE, Achievement, AchievementProgress

LOCKED = ("target", "counts", "action", "period_amount", "period_unit", "period_rounding")


class AchievementForm(forms.ModelForm):
    """Target and period (and what counts) are locked once any customer has progress (§7.1)."""

    api_name = forms.RegexField(
        regex=API_NAME_RE,
        max_length=64,
        label="API name",
        error_messages={"invalid": "A letter, then up to 63 letters, digits or underscores."},
    )
    target = forms.DecimalField(min_value=0.01, max_digits=14, decimal_places=2)
    period_amount = forms.IntegerField(min_value=1, max_value=120)

    class Meta:
        model = Achievement
        fields = [
            "api_name",
            "title",
            "description",
            "campaign",
            "counts",
            "action",
            "target",
            "period_amount",
            "period_unit",
            "period_rounding",
            "recurrence",
            "activation",
            "start_date",
            "end_date",
            "active",
        ]
        widgets = {
            "start_date": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "end_date": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = (
            bool(self.instance.pk) and AchievementProgress.objects.filter(achievement=self.instance).exists()
        )
        if self.locked:
            for name in LOCKED:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Locked: customers have progress in this achievement."

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("counts") == Counts.EVENTS and not cleaned.get("action"):
            self.add_error("action", "Name the action whose events count.")
        if cleaned.get("activation") == Activation.FIXED_SCHEDULE and not cleaned.get("start_date"):
            self.add_error("start_date", "A fixed schedule needs a start date.")
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "The end date must be after the start date.")
        return cleaned
