"""The condition compiler shared by the customer filter bar and (later) segments.

A condition is `field operator value`, written in URLs as ``field:op:value``
(``email:eq:john@example.com``, ``score:ge:100``, ``country:in:DE,AT``). `compile_conditions`
turns a list of them into one Q (AND). Values are coerced to the attribute's type, so a bad value
is a `ConditionError` with a message for the form, never a database error. String comparisons are
case-sensitive (000, "Using the filter bar").

Attributes: the built-in customer fields in `BUILTIN_FIELDS`, `tier` (tier code), `label`
(label name) and every CustomField (stored in Customer.custom JSON), typed by its definition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from customers.fields import custom_fields
from customers.models import Customer

OPERATORS = {
    "eq": "equals",
    "ne": "not equals",
    "lt": "is less than",
    "le": "is less than or equal",
    "gt": "is greater than",
    "ge": "is greater than or equal",
    "in": "is in",
    "not_in": "is not in",
}
_LOOKUP = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}
LIST_SEPARATOR = ","

STRING, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN = (
    "string",
    "integer",
    "decimal",
    "date",
    "datetime",
    "boolean",
)

# name -> (label, type, ORM path)
BUILTIN_FIELDS: dict[str, tuple[str, str, str]] = {
    "customer_id": ("Customer ID", STRING, "customer_id"),
    "first_name": ("First name", STRING, "first_name"),
    "last_name": ("Last name", STRING, "last_name"),
    "nickname": ("Nickname", STRING, "nickname"),
    "email": ("Email", STRING, "email"),
    "status": ("Status", STRING, "status"),
    "gender": ("Gender", STRING, "gender"),
    "birth_date": ("Birth date", DATE, "birth_date"),
    "language": ("Language", STRING, "language"),
    "currency": ("Currency", STRING, "currency"),
    "phone": ("Phone", STRING, "phone"),
    "mobile_phone": ("Mobile phone", STRING, "mobile_phone"),
    "country": ("Country", STRING, "country"),
    "city": ("City", STRING, "city"),
    "zip": ("ZIP", STRING, "zip"),
    "score": ("Score", INTEGER, "score"),
    "spent": ("Spent", INTEGER, "spent"),
    "spendable": ("Spendable", INTEGER, "spendable"),
    "pending": ("Pending", INTEGER, "pending"),
    "reserved": ("Reserved", INTEGER, "reserved"),
    "expired": ("Expired", INTEGER, "expired"),
    "purchase_total": ("Purchase total", DECIMAL, "purchase_total"),
    "purchase_count": ("Purchase count", INTEGER, "purchase_count"),
    "purchase_items": ("Purchased items", INTEGER, "purchase_items"),
    "purchase_last_date": ("Last purchase", DATE, "purchase_last_date"),
    "optin_at": ("Opted in", DATETIME, "optin_at"),
    "last_login_at": ("Last login", DATETIME, "last_login_at"),
    "created_at": ("Created", DATETIME, "created_at"),
    "tier": ("Tier (code)", STRING, "tier__code"),
    "label": ("Label", STRING, "labels__name"),
}
# Custom field types (customers.choices.FieldType) -> condition types.
_CUSTOM_TYPES = {"string": STRING, "choice": STRING, "number": DECIMAL, "boolean": BOOLEAN, "date": DATE}


class ConditionError(ValueError):
    """A condition that cannot be applied; the message is shown to the user."""


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}:{self.operator}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``field:op:value``; the value may itself contain colons."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ConditionError(f"“{text}” is not a condition (field:operator:value).")
        return cls(parts[0], parts[1], parts[2])

    def describe(self, fields: dict[str, Attribute]) -> str:
        attribute = fields.get(self.field)
        label = attribute.label if attribute else self.field
        return f"{label} {OPERATORS.get(self.operator, self.operator)} {self.value}"


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    type: str
    path: str  # ORM path, or custom__<name> for custom attributes
    custom: bool = False


def available_attributes() -> dict[str, Attribute]:
    """Every attribute a condition may use: built-in fields, then custom fields (one query)."""

    attributes = {
        name: Attribute(name, label, type_, path) for name, (label, type_, path) in BUILTIN_FIELDS.items()
    }
    for field in custom_fields().values():
        if field.name in attributes:
            continue
        attributes[field.name] = Attribute(
            field.name,
            field.label or field.name,
            _CUSTOM_TYPES.get(field.type, STRING),
            f"custom__{field.name}",
            custom=True,
        )
    return attributes


def coerce(attribute: Attribute, raw: str):
    """The raw text as the attribute's type; ConditionError with a readable message otherwise."""
    if "\x00" in raw:
        raise ConditionError(f"{attribute.label}: the value contains a NUL character.")
    kind = attribute.type
    if kind == STRING:
        return raw
    text = raw.strip()
    if kind == INTEGER:
        try:
            whole = int(text)
        except ValueError:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a whole number.") from None
        if abs(whole) > 2**63 - 1:
            raise ConditionError(f"{attribute.label}: “{raw}” is out of range.")
        return whole
    if kind == DECIMAL:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a number.") from None
        if not number.is_finite() or abs(number) > Decimal(10) ** 15:
            raise ConditionError(f"{attribute.label}: “{raw}” is out of range.")
        return number
    if kind == BOOLEAN:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConditionError(f"{attribute.label}: “{raw}” is not true or false.")
    if kind == DATE:
        date: dt.date | None
        try:
            date = parse_date(text)
        except ValueError:
            date = None
        if date is None:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a date (YYYY-MM-DD).")
        return date
    if kind == DATETIME:
        moment: dt.datetime | None
        try:
            moment = parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                moment = dt.datetime.combine(day, dt.time()) if day else None
        except ValueError:
            moment = None
        if moment is None:
            raise ConditionError(
                f"{attribute.label}: “{raw}” is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)."
            )
        return make_aware(moment, dt.UTC) if is_naive(moment) else moment
    raise ConditionError(f"{attribute.label}: unsupported type {kind}.")


def _custom_q(attribute: Attribute, lookup: str, value) -> Q:
    """Custom attributes live in the `custom` JSON: compare numbers and booleans as JSON values,
    strings and dates as text (dates are stored as ISO strings, which sort as dates).

    On PostgreSQL equality is containment (`custom @> {"name": value}`), which the GIN index of
    customers migration 0004 answers; other comparisons read the key."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if lookup == "exact":
        if connection.vendor == "postgresql":
            return Q(custom__contains={attribute.name: value})
        return Q(**{attribute.path: value})
    return Q(**{f"{attribute.path}__{lookup}": value})


def _q(attribute: Attribute, lookup: str, value) -> Q:
    if attribute.name == "label":
        # A subquery per condition: no duplicate rows, and "label a AND label b" means both.

        through = Customer.labels.through.objects.filter(**{f"label__name__{lookup}": value})
        return Q(pk__in=through.values("customer_id"))
    if attribute.custom:
        return _custom_q(attribute, lookup, value)
    return Q(**{attribute.path if lookup == "exact" else f"{attribute.path}__{lookup}": value})


def compile_condition(condition: Condition, attributes: dict[str, Attribute]) -> Q:
    attribute = attributes.get(condition.field)
    if attribute is None:
        raise ConditionError(f"Unknown attribute “{condition.field}”.")
    op = condition.operator
    if op not in OPERATORS:
        raise ConditionError(f"Unknown operator “{op}” (use one of {', '.join(OPERATORS)}).")
    if op in ("in", "not_in"):
        values = [coerce(attribute, part) for part in condition.value.split(LIST_SEPARATOR)]
        q = Q()
        for value in values:
            q |= _q(attribute, "exact", value)
        return ~q if op == "not_in" else q
    value = coerce(attribute, condition.value)
    if op == "eq":
        return _q(attribute, "exact", value)
    if op == "ne":
        return ~_q(attribute, "exact", value)
    if attribute.type == BOOLEAN:
        raise ConditionError(f"{attribute.label}: true/false values only support equals and not equals.")
    return _q(attribute, _LOOKUP[op], value)


def compile_conditions(conditions: list[Condition], attributes: dict[str, Attribute] | None = None) -> Q:
    """AND of every condition. Raises ConditionError for the first bad one."""
    attributes = attributes if attributes is not None else available_attributes()
    q = Q()
    for condition in conditions:
        q &= compile_condition(condition, attributes)
    return q


__all__ = ["Condition", "ConditionError", "OPERATORS", "available_attributes", "compile_conditions"]
