import datetime as dt

from django import forms

from dashboard.figures import MAX_DAYS

PRESETS = (7, 30, 90, 365)


class DateRangeForm(forms.Form):
    """The dashboard's range, in the program's time zone; both days included."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                self.add_error("start", "The first day must not be after the last day.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("start", f"Choose at most {MAX_DAYS} days.")
        return data


def default_range(today: dt.date, days: int = 30) -> tuple[dt.date, dt.date]:
    return today - dt.timedelta(days=days - 1), today
