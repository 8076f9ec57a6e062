"""Writing customer attributes from opt_in and profile events (001, "Customer attributes").

Built-in attributes are model fields; custom attributes live in `Customer.custom`, validated
against their CustomField (type, choices, regex); `labels` replaces the customer's labels
(creating unknown ones); `referrer` names another customer. Read-only attributes (built-in ones
the handlers compute, and custom fields flagged read-only) are refused, as are names that are no
attribute at all, so a typo never disappears silently. Everything is validated before anything is
written; the caller runs in the event's transaction, so a refusal leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from events.validation import coerce
from loyalty.bounds import NUMBER_MAX
from loyalty.errors import Conflict, ReadOnlyAttribute, UnknownAttribute, ValidationError
from loyalty.safe_urls import check_url

from .choices import (
    LABEL_FORMAT,
    LABEL_RE,
    FieldType,
    Gender,
    normalize_country,
    normalize_language,
)
from .fields import custom_fields
from .lookup import find_customer
from .models import BUILTIN_ATTRIBUTES, READ_ONLY_ATTRIBUTES, Customer, ExternalId, Label

# Keys an opt_in/profile event may carry that are not customer attributes.
EVENT_KEYS = {
    "reason",
    "password",
    "confirm_password",
    "account",
    "referral_code",
}  # referral_code: a referral redeemed at opt-in
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")


class _EmailValidator(EmailValidator):
    """Django's EmailValidator, its patterns compiled when this module loads: Django keeps them as
    lazy objects, and each match went through the lazy proxy (two per e-mail; imports check one
    per row). The same patterns and flags, so the same addresses pass."""

    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
    domain_regex = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
    literal_regex = re.compile(EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags)


_email = _EmailValidator()


def apply_attributes(ctx) -> list[str]:
    """Validate then write every attribute in ctx.data; returns the names written."""
    customer: Customer = ctx.customer
    fields = custom_fields()
    event_attrs = {attr.name for attr in ctx.extra_attrs} | EVENT_KEYS
    changes: list[tuple[str, Any]] = []
    unknown = []
    for name, value in ctx.data.items():
        if name in event_attrs:
            continue
        if name in READ_ONLY_ATTRIBUTES or (name in fields and fields[name].read_only):
            raise ReadOnlyAttribute(f"Attribute {name!r} is read-only.", field=f"data.{name}")
        if name in BUILTIN_ATTRIBUTES:
            changes.append((name, _builtin_value(name, value)))
        elif name == "labels":
            changes.append((name, _label_names(value)))
        elif name == "referrer":
            changes.append((name, _referrer(ctx, value)))
        elif name in fields:
            changes.append((name, custom_value(fields[name], value)))
        else:
            unknown.append(name)
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        raise UnknownAttribute(f"Unknown customer attribute(s): {names}.", field=f"data.{sorted(unknown)[0]}")

    for name, value in changes:
        if name in BUILTIN_ATTRIBUTES:
            setattr(customer, name, value)
        elif name == "labels":
            _set_labels(customer, value)
        elif name == "referrer":
            customer.referrer = value
        else:
            _set_custom(ctx, fields[name], value)
    return [name for name, _ in changes]


def check_value(name: str, value):
    """One attribute's value checked as opt_in / profile would check it, without a customer (the
    imports' validation pass): the stored form, or the same EngineError naming `data.<name>`.
    Referrers and external-ID conflicts need the database and are checked only when applied."""
    fields = custom_fields()
    if name in BUILTIN_ATTRIBUTES:
        return _builtin_value(name, value)
    if name == "labels":
        return _label_names(value)
    if name in fields:
        return custom_value(fields[name], value)
    return value


def missing_required_fields(customer: Customer) -> list[str]:
    """Custom fields marked required on opt-in that the customer has no value for."""
    return [
        name
        for name, field in custom_fields().items()
        if field.required_on_opt_in and customer.custom.get(name) in (None, "")
    ]


# Built-in attributes that are web addresses: http(s) only (loyalty.safe_urls).
URL_ATTRIBUTES = {"image_url"}


_GENDERS = frozenset(Gender.values)  # Gender.values builds a new list per call (imports: per row)


@functools.cache
def _max_length(name: str) -> int | None:
    return getattr(Customer._meta.get_field(name), "max_length", None)


def _builtin_value(name: str, value):
    if value is None or value == "":
        return None if name == "birth_date" else ""
    if name == "birth_date":
        day = dt.date.fromisoformat(coerce("date", value, name))
        if day > dt.date.today() or day.year < 1900:
            raise ValidationError("The birth date must be a past date after 1900.", field="data.birth_date")
        return day
    if type(value) is not str or "\x00" in value:  # a plain string without NUL passes as it is
        value = coerce("string", value, name)
    value = value.strip()
    max_length = _max_length(name)
    if max_length and len(value) > max_length:
        raise ValidationError(
            f"Attribute {name!r} is longer than {max_length} characters.", field=f"data.{name}"
        )
    if name == "email":
        try:
            _email(value)
        except DjangoValidationError:
            raise ValidationError("Enter a valid email address.", field="data.email") from None
    elif name in URL_ATTRIBUTES:
        check_url(value, f"data.{name}")
    elif name == "gender":
        value = value.lower()
        if value not in _GENDERS:
            raise ValidationError(f"Gender must be one of {', '.join(Gender.values)}.", field="data.gender")
    elif name == "country":
        code = normalize_country(value)
        if code is None:
            raise ValidationError(
                "The country must be an ISO 3166-1 alpha-2 code, such as HU or DE.", field="data.country"
            )
        value = code
    elif name == "language":
        code = normalize_language(value)
        if code is None:
            raise ValidationError(
                "The language must be an ISO 639-1 code, such as en or hu (optionally en-GB).",
                field="data.language",
            )
        value = code
    elif name == "currency":
        if not _CURRENCY_RE.match(value):
            raise ValidationError("The currency must be a 3-letter ISO code.", field="data.currency")
        value = value.upper()
    return value


def custom_value(field, value):
    """The stored (JSON) value of a custom attribute, or None to remove it."""
    name = field.name
    if value is None or value == "":
        return None
    if field.type == FieldType.NUMBER:
        number = _within_bounds(field, coerce("number", value, name))  # the field's own min / max first
        if abs(number) > NUMBER_MAX:  # then the declared bound of every number
            raise ValidationError(
                f"Attribute {name!r} must be between -{NUMBER_MAX} and {NUMBER_MAX}.", field=f"data.{name}"
            )
        return number
    if field.type == FieldType.BOOLEAN:
        return coerce("boolean", value, name)
    if field.type == FieldType.DATE:
        return coerce("date", value, name)
    value = coerce("string", value, name)
    limit = min(field.max_length or CUSTOM_STRING_LIMIT, CUSTOM_STRING_LIMIT)
    if len(value) > limit:
        raise ValidationError(f"Attribute {name!r} is longer than {limit} characters.", field=f"data.{name}")
    if field.type == FieldType.CHOICE:
        allowed = [_choice_value(choice) for choice in field.choices or []]
        if value not in allowed:
            raise ValidationError(
                f"Attribute {name!r} must be one of: {', '.join(map(str, allowed))}.", field=f"data.{name}"
            )
    if field.regex:
        try:
            matches = re.fullmatch(field.regex, value) is not None
        except re.error:
            raise ValidationError(
                f"Attribute {name!r} has an invalid pattern in settings.", field=f"data.{name}"
            )
        if not matches:
            raise ValidationError(
                f"Attribute {name!r} does not match the required format.", field=f"data.{name}"
            )
    return value


CUSTOM_STRING_LIMIT = 1000


def _within_bounds(field, number):
    """A custom number within the field's optional min_value / max_value (a shoe
    size of 10^20 or -5 is refused). Raises ValidationError naming `data.<field>`."""
    low, high = field.min_value, field.max_value
    if low is not None and Decimal(str(number)) < low:
        raise ValidationError(
            f"Attribute {field.name!r} must be at least {_bound(low)}.", field=f"data.{field.name}"
        )
    if high is not None and Decimal(str(number)) > high:
        raise ValidationError(
            f"Attribute {field.name!r} must be at most {_bound(high)}.", field=f"data.{field.name}"
        )
    return number


def _bound(value: Decimal) -> str:
    return str(value.normalize()) if value != value.to_integral_value() else str(int(value))


def _choice_value(choice):
    if isinstance(choice, dict):
        return str(choice.get("value", ""))
    if isinstance(choice, list | tuple) and choice:
        return str(choice[0])
    return str(choice)


def _label_names(value) -> list[str]:
    names = coerce("list", value if value not in (None, "") else [], "labels")
    clean = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("Labels must be non-empty strings.", field="data.labels")
        if len(name.strip()) > 100:
            raise ValidationError("A label is longer than 100 characters.", field="data.labels")
        if not LABEL_RE.match(name.strip()):
            raise ValidationError(f"Label {name.strip()!r}: {LABEL_FORMAT}", field="data.labels")
        clean.append(name.strip())
    return list(dict.fromkeys(clean))


def _set_labels(customer: Customer, names: list[str]) -> None:
    labels = {label.name: label for label in Label.objects.filter(name__in=names)}
    for name in names:
        if name not in labels:
            labels[name] = _create_label(name)
    customer.labels.set(labels.values())


def _create_label(name: str) -> Label:
    try:
        with transaction.atomic():  # a concurrent event may create the same label
            return Label.objects.create(name=name)
    except IntegrityError:
        return Label.objects.get(name=name)


def _referrer(ctx, value) -> Customer | None:

    if value is None or value == "":
        return None
    ref = coerce("string", value, "referrer")
    try:
        referrer = find_customer(ctx.environment, ref)
    except ValidationError as error:
        raise ValidationError(error.message, field="data.referrer") from None
    if referrer is None:
        raise ValidationError(f"No customer with ID {ref!r} to refer this one.", field="data.referrer")
    if referrer.pk == ctx.customer.pk:
        raise ValidationError("A customer cannot refer themselves.", field="data.referrer")
    return referrer


def _set_custom(ctx, field, value) -> None:
    customer: Customer = ctx.customer
    custom = dict(customer.custom or {})
    if value is None:
        custom.pop(field.name, None)
    else:
        custom[field.name] = value
    customer.custom = custom
    if field.external_id:
        set_external_id(customer, field.name, value)


def set_external_id(customer: Customer, field: str, value) -> None:
    """Keep the ExternalId index in step with an external-ID custom field."""
    ExternalId.objects.filter(customer=customer, field=field).delete()
    if value in (None, ""):
        return
    value = str(value)
    if len(value) > 300:
        raise ValidationError(f"External ID {field!r} is longer than 300 characters.", field=f"data.{field}")
    taken = ExternalId.objects.filter(environment=customer.environment, field=field, value=value)
    if taken.exists():
        raise Conflict(f"Another customer already has {field} {value!r}.", field=f"data.{field}")
    try:
        with transaction.atomic():  # a concurrent event may claim the same value
            ExternalId.objects.create(
                environment=customer.environment, field=field, value=value, customer=customer
            )
    except IntegrityError:
        raise Conflict(f"Another customer already has {field} {value!r}.", field=f"data.{field}") from None
