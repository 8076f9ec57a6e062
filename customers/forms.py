"""Forms of the customer console. Every form that changes a customer carries a required reason
(loyalty.console.forms.ReasonForm)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F

from customers.choices import (
    LABEL_FORMAT,
    LABEL_RE,
    FieldType,
    Gender,
    country_choices,
    language_choices,
)
from customers.fields import BUILTIN_LABELS
from customers.models import BUILTIN_ATTRIBUTES, Customer, CustomField, Label, customer_id_validator
from events.choices import AttributeType
from events.definitions import ActionSpec
from loyalty.console.forms import FutureDateField, IdsChoiceField, ReasonForm
from loyalty.ledger.accounts import all_accounts
from loyalty.models import PointLot, TierStructure
from loyalty.models.ledger import LotStatus
from loyalty.safe_urls import is_safe_url


def _no_nul(value):
    if isinstance(value, str) and "\x00" in value:
        raise forms.ValidationError("The value contains a NUL character.")


class EventFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="Event type")
    transaction_id = forms.CharField(
        required=False, max_length=128, label="Transaction ID", validators=[_no_nul]
    )

    def __init__(self, *args, action_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All events"), *action_choices]


# --- Personal information -------------------------------------------------------------------

_BUILTIN_LABELS = BUILTIN_LABELS


ISO_CHOICES = {"country": country_choices, "language": language_choices}


def _http_url(value):
    # The engine's rule (loyalty.safe_urls), said on the field before anything is registered.
    if value and not is_safe_url(value):
        raise forms.ValidationError("The image URL must be an http or https address.")


def _custom_field(field: CustomField) -> forms.Field:
    common: dict[str, Any] = {
        "required": False,
        "label": field.label or field.name,
        "disabled": field.read_only,
    }
    if field.type == FieldType.NUMBER:
        return forms.DecimalField(min_value=field.min_value, max_value=field.max_value, **common)
    if field.type == FieldType.BOOLEAN:
        return forms.NullBooleanField(**common)
    if field.type == FieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.type == FieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in field.choices or []]], **common)
    return forms.CharField(max_length=min(field.max_length or 1000, 1000), validators=[_no_nul], **common)


def _json_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class PersonalInfoForm(ReasonForm):
    """Every built-in and custom attribute; read-only custom fields are disabled. `changes()` is
    the data of the `profile` event: only attributes whose value changed."""

    labels = IdsChoiceField(
        queryset=Label.objects.filter(active=True), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, data: Any = None, files: Any = None, *, customer: Customer, **kwargs: Any):
        self.customer = customer
        self.custom_fields = list(CustomField.objects.all())
        initial = {name: getattr(customer, name) for name in BUILTIN_ATTRIBUTES}
        initial.update({f"custom_{f.name}": (customer.custom or {}).get(f.name) for f in self.custom_fields})
        self.initial_labels = list(customer.labels.all())
        initial["labels"] = self.initial_labels
        super().__init__(data, files, initial=initial, **kwargs)
        fields: dict[str, forms.Field] = {}
        for name in BUILTIN_ATTRIBUTES:
            label = _BUILTIN_LABELS.get(name, name.replace("_", " ").capitalize())
            if name == "birth_date":
                fields[name] = forms.DateField(
                    required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
                )
            elif name == "gender":
                fields[name] = forms.ChoiceField(
                    required=False, label=label, choices=[("", "—"), *Gender.choices]
                )
            elif name in ISO_CHOICES:
                # ISO 3166 / ISO 639 choices; a stored value outside them stays choosable until changed.
                choices = ISO_CHOICES[name]()
                current = getattr(customer, name)
                if current and current not in dict(choices):
                    choices = [(current, f"{current} (not an ISO code)"), *choices]
                fields[name] = forms.ChoiceField(required=False, label=label, choices=[("", "—"), *choices])
            elif name == "image_url":
                fields[name] = forms.CharField(
                    required=False, label=label, max_length=500, validators=[_no_nul, _http_url]
                )
            else:
                max_length = cast(models.CharField, Customer._meta.get_field(name)).max_length
                fields[name] = forms.CharField(
                    required=False, label=label, max_length=max_length, validators=[_no_nul]
                )
        for field in self.custom_fields:
            fields[f"custom_{field.name}"] = _custom_field(field)
        # Attributes first, then labels and the reason.
        labels = cast(forms.ModelMultipleChoiceField, self.fields.pop("labels"))
        reason = self.fields.pop("reason")
        # Labels that are inactive but attached stay visible so saving does not drop them.
        labels.queryset = Label.objects.filter(active=True) | Label.objects.filter(
            pk__in=[label.pk for label in self.initial_labels]
        )
        self.fields = {**fields, "labels": labels, "reason": reason}

    def changes(self) -> dict:
        data = {}
        for name in BUILTIN_ATTRIBUTES:
            new = self.cleaned_data.get(name)
            old = getattr(self.customer, name)
            if (new or None) != (old or None):
                data[name] = _json_value(new) if new not in (None,) else ""
        for field in self.custom_fields:
            if field.read_only:
                continue
            new = self.cleaned_data.get(f"custom_{field.name}")
            old = (self.customer.custom or {}).get(field.name)
            new_json = _json_value(new) if new not in ("",) else None
            if new_json != old and not (new_json is None and old in (None, "")):
                data[field.name] = new_json
        new_labels = sorted(label.name for label in self.cleaned_data.get("labels") or [])
        if new_labels != sorted(label.name for label in self.initial_labels):
            data["labels"] = new_labels
        return data

    def before(self, changes: dict) -> dict:
        before: dict[str, Any] = {}
        for name in changes:
            if name == "labels":
                before[name] = sorted(label.name for label in self.initial_labels)
            elif name in BUILTIN_ATTRIBUTES:
                before[name] = _json_value(getattr(self.customer, name))
            else:
                before[name] = (self.customer.custom or {}).get(name)
        return before


# --- Points ---------------------------------------------------------------------------------


class ManagePointsForm(ReasonForm):
    OPERATIONS = [("point_add", "Add points"), ("point_sub", "Sub points"), ("point_spend", "Spend points")]

    operation = forms.ChoiceField(choices=OPERATIONS, widget=forms.RadioSelect, initial="point_add")
    points = forms.IntegerField(min_value=1, max_value=10**12)
    expiration_date = FutureDateField(
        required=False,
        help_text="Only for added points; empty: the program's expiration rule.",
    )
    account = forms.ChoiceField(required=False, help_text="Multi-accounts: the account to change.")

    field_order = ["operation", "points", "expiration_date", "account", "reason"]

    def __init__(self, *args, multi_accounts: bool = False, operations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if operations is not None:
            # Only the operations the user may register (events.permissions).
            cast(forms.ChoiceField, self.fields["operation"]).choices = [
                (op, label) for op, label in self.OPERATIONS if op in operations
            ]
        if multi_accounts:
            cast(forms.ChoiceField, self.fields["account"]).choices = [
                (a.code, a.name) for a in all_accounts()
            ]
        else:
            del self.fields["account"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("expiration_date") and cleaned.get("operation") != "point_add":
            self.add_error("expiration_date", "An expiration date applies to added points only.")
        return cleaned

    def event_data(self) -> dict:
        data = {"points": self.cleaned_data["points"]}
        if self.cleaned_data.get("expiration_date"):
            data["expiration_date"] = self.cleaned_data["expiration_date"].isoformat()
        return data


class ChangeExpirationForm(ReasonForm):
    lots = IdsChoiceField(
        queryset=PointLot.objects.none(), widget=forms.CheckboxSelectMultiple, label="Point lots"
    )
    expiration_date = FutureDateField(label="New expiration date")

    field_order = ["lots", "expiration_date", "reason"]

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["lots"])
        field.queryset = (
            PointLot.objects.filter(customer=customer, status__in=[LotStatus.ACTIVE, LotStatus.PENDING])
            .filter(points__gt=F("used") + F("expired_points") + F("reserved"))
            .select_related("event", "account")
            .order_by("expires_at", "id")
        )
        # A long-time member may hold thousands of lots: offer the first LOT_CHOICES to expire
        # (validation still accepts any of the customer's open lots).
        field.widget.choices = [(lot.pk, self.describe(lot)) for lot in field.queryset[: self.LOT_CHOICES]]

    LOT_CHOICES = 200

    @staticmethod
    def describe(lot) -> str:
        return (
            f"#{lot.pk} · {lot.event.label or lot.event.action} · {lot.remaining} of {lot.points} {lot.account.name} "
            f"left · expires {lot.expires_at.date() if lot.expires_at else 'never'}"
        )


# --- Tiers, merge, add event -----------------------------------------------------------------


class TierForm(ReasonForm):
    structure = forms.ModelChoiceField(queryset=TierStructure.objects.all(), to_field_name="code")
    expiration_date = FutureDateField(required=False)
    field_order = ["structure", "expiration_date", "reason"]

    def __init__(self, *args, expiration_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expiration_date"].required = expiration_required


class TierRemoveForm(ReasonForm):
    structure = forms.ModelChoiceField(queryset=TierStructure.objects.all(), to_field_name="code")
    field_order = ["structure", "reason"]


class MergeForm(ReasonForm):
    MODES = [("partial", "Partial: without custom fields"), ("full", "Full: custom fields too")]

    source = forms.CharField(
        max_length=300,
        label="Other customer ID",
        validators=[_no_nul],
        help_text="Its history and points move to this profile, which stays.",
    )
    mode = forms.ChoiceField(choices=MODES, initial="partial", widget=forms.RadioSelect)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    field_order = ["source", "mode", "reason", "confirmed"]


_ATTR_FIELDS = {
    AttributeType.NUMBER: lambda **kw: forms.DecimalField(**kw),
    AttributeType.INTEGER: lambda **kw: forms.IntegerField(**kw),
    AttributeType.BOOLEAN: lambda **kw: forms.NullBooleanField(**kw),
    AttributeType.DATE: lambda **kw: forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kw),
    AttributeType.DATETIME: lambda **kw: forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **kw
    ),
    AttributeType.LIST: lambda help_text="", **kw: forms.CharField(
        help_text=f"{help_text} (comma-separated)" if help_text else "comma-separated",
        validators=[_no_nul],
        **kw,
    ),
    AttributeType.OBJECT: lambda **kw: forms.JSONField(**kw),
}


class AddEventForm(ReasonForm):
    """An event's attribute form, built from its definition (built-in spec or EventDefinition)."""

    def __init__(self, *args, spec: ActionSpec, extra_attrs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.extra_attrs = tuple(extra_attrs)
        reason = self.fields.pop("reason")
        self.attr_names: list[str] = []
        for attr in (*spec.attributes, *extra_attrs):
            if attr.name == "reason" or attr.name in self.attr_names or attr.secret:
                continue  # secrets (a customer's password) are the customer's to set, not staff's
            make = _ATTR_FIELDS.get(attr.type, lambda **kw: forms.CharField(validators=[_no_nul], **kw))
            self.fields[f"attr_{attr.name}"] = make(
                required=attr.required, label=attr.name, help_text=attr.help
            )
            self.attr_names.append(attr.name)
        self.fields["reason"] = reason

    def event_data(self) -> dict:
        data = {}
        for name in self.attr_names:
            value = self.cleaned_data.get(f"attr_{name}")
            if value in (None, ""):
                continue
            attr = next((a for a in (*self.spec.attributes, *self.extra_attrs) if a.name == name), None)
            if attr is not None and attr.type == AttributeType.LIST and isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            data[name] = _json_value(value) if not isinstance(value, dt.datetime) else value.isoformat()
        return data


class CustomFieldForm(forms.ModelForm):
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For the choice type: one allowed value per line.",
    )

    class Meta:
        model = CustomField
        fields = [
            "name",
            "label",
            "type",
            "choices",
            "regex",
            "min_value",
            "max_value",
            "max_length",
            "required_on_opt_in",
            "read_only",
            "searchable",
            "external_id",
            "position",
        ]
        labels = {
            "external_id": "External ID",
            "required_on_opt_in": "Required on opt-in",
            "min_value": "Minimum",
            "max_value": "Maximum",
            "max_length": "Maximum length",
        }
        help_texts = {
            "name": "The attribute name in events and the API (letters, digits, _ and -). Cannot be changed later.",
            "regex": "For strings: values must match this regular expression.",
            "read_only": "Only the engine's handlers write it; the console and opt-in cannot.",
            "searchable": "Exact-match search in GET /api/customers.",
            "external_id": "Irreversible. The field's values identify customers (field:value wherever a "
            "customer ID is accepted). Strings only.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Stored attribute values are keyed by the name.
            self.fields["name"].disabled = True
            if self.instance.external_id:
                # An external ID is a string for good: lookups index its values as text.
                self.fields["type"].disabled = True
        self.initial["choices"] = "\n".join(str(c) for c in (self.instance.choices or []))

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.instance.pk:
            return name
        reserved = {f.name for f in Customer._meta.get_fields()} | {"customer", "id", "pk"}
        if name in reserved:
            raise ValidationError(f"“{name}” is a built-in customer attribute.")
        return name

    def clean_choices(self):
        lines = [line.strip() for line in self.cleaned_data["choices"].splitlines()]
        values = [line for line in lines if line]
        if len(set(values)) != len(values):
            raise ValidationError("Each value once.")
        return values

    def clean_regex(self):
        pattern = self.cleaned_data["regex"].strip()
        if pattern:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValidationError(f"Not a valid regular expression: {error}.")
        return pattern

    def clean_external_id(self):
        value = self.cleaned_data["external_id"]
        if self.instance.pk and self.instance.external_id and not value:
            raise ValidationError("External ID is irreversible: it cannot be turned off.")
        if value and self.instance.pk and not self.instance.external_id:
            # Values stored before the tag are not in the external-ID index, so field:value
            # would silently miss them: only a field nobody has a value for can become one.
            if Customer.objects.filter(custom__has_key=self.instance.name).exists():
                raise ValidationError(
                    "Customers already have values for this field; create a new field as the external ID."
                )
        return value

    def clean(self):
        cleaned = super().clean()
        field_type = cleaned.get("type")
        if cleaned.get("external_id") and field_type != FieldType.STRING:
            self.add_error("external_id", "Only string fields can be external IDs.")
        if field_type == FieldType.CHOICE:
            if not cleaned.get("choices"):
                self.add_error("choices", "A choice field needs at least one value.")
        elif cleaned.get("choices"):
            self.add_error("choices", "Only choice fields have values to choose from.")
        if cleaned.get("regex") and field_type != FieldType.STRING:
            self.add_error("regex", "Only string fields are checked against a regular expression.")
        low, high = cleaned.get("min_value"), cleaned.get("max_value")
        for name in ("min_value", "max_value"):
            if cleaned.get(name) is not None and field_type != FieldType.NUMBER:
                self.add_error(name, "Only number fields have a minimum and a maximum.")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", "The maximum must not be below the minimum.")
        length = cleaned.get("max_length")
        if length is not None:
            if field_type != FieldType.STRING:
                self.add_error("max_length", "Only string fields have a maximum length.")
            elif not 1 <= length <= 1000:
                self.add_error("max_length", "Give a length from 1 to 1000 characters.")
        return cleaned


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["name", "active"]
        labels = {"name": "Identifier"}
        help_texts = {"name": LABEL_FORMAT}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or "\x00" in name:
            raise forms.ValidationError("Enter a label identifier.")
        if not LABEL_RE.match(name):
            raise forms.ValidationError(LABEL_FORMAT)
        return name


class CreateCustomerForm(ReasonForm):
    """ "Create customer" on the Customers page: an `opt_in` through the engine with
    the ID, the main built-in attributes and every custom field (those required on opt-in are
    required here). `event_data()` is the opt_in's data: only the filled-in values."""

    customer_id = forms.CharField(
        label="Customer ID",
        max_length=128,
        validators=[customer_id_validator],
        help_text="Latin letters, digits and dashes; how integrations will name this customer.",
    )
    first_name = forms.CharField(required=False, max_length=200, validators=[_no_nul])
    last_name = forms.CharField(required=False, max_length=200, validators=[_no_nul])
    email = forms.EmailField(required=False, max_length=254, label="Email")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        reason = self.fields.pop("reason")
        for field in CustomField.objects.filter(read_only=False):
            form_field = _custom_field(field)
            form_field.required = field.required_on_opt_in
            self.fields[f"custom_{field.name}"] = form_field
        reason.required = False
        reason.help_text = "Optional: why this customer is created by hand."
        self.fields["reason"] = reason

    def clean_reason(self):
        return (self.cleaned_data.get("reason") or "").strip() or "Created in the console"

    def event_data(self) -> dict:
        data = {}
        for name, value in self.cleaned_data.items():
            if name in ("customer_id", "reason") or value in (None, ""):
                continue
            data[name.removeprefix("custom_")] = _json_value(value)
        return data
