from django import forms

from loyalty import clock
from loyalty.bounds import is_digits


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField of rows chosen by primary key that refuses, with the field's
    "not a valid value" message, any value that is not 1 to 18 ASCII digits. Django's own field
    queries `pk__in` with whatever was posted: on SQLite a number beyond 64 bits
    (lots=10000000000000000000000000000) raised OverflowError, a 500. Every multiple choice of
    rows in the console uses this field (tests/structure/test_forms_ids.py checks)."""

    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if not is_digits(str(pk).strip()):
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super()._check_values(value)


class AsciiIntegerField(forms.IntegerField):
    """An IntegerField that refuses digits that are not ASCII with its "Enter a whole number"
    message: Django's own reads them with int(), so "١٢" was stored as 12, a number nobody typed
    (loyalty.bounds.is_digits)."""

    def to_python(self, value):
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField of a row chosen by primary key that refuses, with the field's "not one
    of the available choices" message, any value that is not 1 to 18 ASCII digits: Django's own
    looks "١" up as row 1."""

    def to_python(self, value):
        if value not in self.empty_values and not is_digits(str(value).strip()):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def rows_not_on_the_page(formset: forms.BaseInlineFormSet) -> list:
    """The parent's saved rows that the posted inline formset does not show: rows another tab or
    administrator saved after this page was loaded. A formset's own clean() compares only the
    rows on the page; checked against these too, a code used meanwhile is a message on the
    page, not an IntegrityError (a 500), and a value unique only by the formset's rule (a tier's
    threshold) is not stored twice."""
    if formset.instance.pk is None:
        return []
    shown = [form.instance.pk for form in formset.forms if form.instance.pk]
    return list(formset.get_queryset().exclude(pk__in=shown))


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


# The furthest ahead a console date may lie (9999-12-31 is refused on the field, not
# by the database).
MAX_YEARS_AHEAD = 100


def check_future(value, today):
    """Raise forms.ValidationError unless `value` (a date, or a datetime's date) lies after `today`
    and within MAX_YEARS_AHEAD years."""
    if value is None:
        return
    day = value.date() if hasattr(value, "date") and callable(value.date) else value
    if day <= today:
        raise forms.ValidationError(
            "Give a date after today (%(today)s).", code="past", params={"today": today.isoformat()}
        )
    if day.year > today.year + MAX_YEARS_AHEAD:
        raise forms.ValidationError(
            "Give a date within %(years)s years.", code="too_far", params={"years": MAX_YEARS_AHEAD}
        )


class FutureDateField(forms.DateField):
    """An expiration date: after today in the program's calendar, at most 100 years ahead
    (0001-01-01, 2001-12-31 and 9999-12-31 are refused with a message on the field)."""

    widget = forms.DateInput(attrs={"type": "date"})

    def validate(self, value):
        super().validate(value)
        check_future(value, clock.today())


class PlausibleDateTimeField(forms.DateTimeField):
    """A date-time within 100 years of today either way (a coupon's expiration may lie in the
    past: that expires it now; 0001-01-01 and 9999-12-31 are refused on the field)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"})

    def validate(self, value):
        super().validate(value)
        if value is not None and abs(value.year - clock.today().year) > MAX_YEARS_AHEAD:
            raise forms.ValidationError(
                "Give a date within %(years)s years of today.",
                code="implausible",
                params={"years": MAX_YEARS_AHEAD},
            )
