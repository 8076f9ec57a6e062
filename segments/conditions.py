"""The one condition language: the customer filter bar, segments, list filters, exports and
workflow filters all compile conditions here, never anywhere else.

A **condition** is `field operator value`, written in URLs as ``field:op:value``
(``email:eq:john@example.com``, ``score:ge:100``, ``country:in:DE,AT``). A **tree** nests them in
groups combined with AND ("all") or OR ("any")::

    {"match": "all", "conditions": [
        {"field": "tier", "operator": "eq", "value": "gold"},
        {"match": "any", "conditions": [
            {"field": "purchase.last_30days.count", "operator": "ge", "value": 1},
            {"field": "events.login.60d", "operator": "eq", "value": 0}]}]}

`compile_tree` turns a tree into one Q over Customer; each condition is one SQL predicate over a
customer column, the `custom` JSON (GIN-indexed on PostgreSQL) or one uncorrelated, grouped
subquery (`pk IN (SELECT customer_id ... GROUP BY ... HAVING ...)`): no per-customer Python loop.
Values are coerced to the attribute's type first, so a bad value is a `ConditionError` naming the
field (its path in the tree, e.g. ``conditions[1].conditions[0].value``) and never a database error.
String comparisons are case-sensitive on every database (000, "Using the filter bar"):
`contains` / `starts_with` use instr/strpos and substr, not LIKE (case-insensitive on SQLite).

Attributes (`resolve_attribute`):

- every built-in customer column in `BUILTIN_FIELDS` (status, IDs, balances over all accounts,
  purchase totals, dates) and every CustomField (stored in Customer.custom, typed by its definition;
  external-ID fields included);
- ``label`` (label name), ``list`` (customer list ID), ``segment`` (segment ID: its materialized
  membership, so a segment of segments is an index lookup; cycles are refused by `check_cycles`);
- ``tier`` (tier code, any structure) and ``tier.<structure>`` (tier code in that structure);
- ``balance.<account>.<kind>``: kind spendable, score (earned), spent, pending, reserved, expired;
  a customer without a balance row in the account has 0;
- ``purchase.<period>.<metric>``: metric total, count or items over the `purchases` extension's
  periods (transactions.stats.PERIODS and its aliases mtd, ytd, ...), in the program time zone;
- ``events.<action>.<N>d`` (times the action was performed in the last N days) and
  ``events.<action>.all``; ``last_event.<action>``: when the action was last performed.

Operators per type are `TYPE_OPERATORS`. Relative dates: ``days_ago_gt`` N ("more than N days
ago"), ``days_ago_lt`` N ("in the last N days"), ``this_day`` / ``this_month`` (anniversaries:
birth date is today / this month, in the program time zone). Missing values (no birth date, no
custom value, never performed) satisfy only ``ne``, ``not_in``, ``not_contains`` and ``is_empty``.
"""

from __future__ import annotations

import datetime as dt
import operator as op_module
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Left, StrIndex, Substr
from django.db.models.lookups import Exact, GreaterThan
from django.utils.dateparse import parse_date, parse_datetime

from customers.fields import custom_fields
from customers.models import Customer
from events.models import Event
from loyalty import clock
from loyalty.bounds import is_digits
from loyalty.models import CustomerTier, PointAccount, PointBalance, Program, Tier, TierStructure
from loyalty.tiers import effective_tier_customers
from transactions.models import Transaction, TransactionItem
from transactions.stats import ALIASES, COUNTED, PERIODS, period_bounds

from .models import CustomerList, CustomerListMember, Segment, SegmentMember

OPERATORS = {
    "eq": "equals",
    "ne": "not equals",
    "lt": "is less than",
    "le": "is less than or equal",
    "gt": "is greater than",
    "ge": "is greater than or equal",
    "in": "is in",
    "not_in": "is not in",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "days_ago_gt": "is more than N days ago",
    "days_ago_lt": "is in the last N days",
    "this_day": "is this day (anniversary)",
    "this_month": "is this month (anniversary)",
}
_LOOKUP = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}
_COMPARE = {
    "eq": op_module.eq,
    "lt": op_module.lt,
    "le": op_module.le,
    "gt": op_module.gt,
    "ge": op_module.ge,
}
LIST_SEPARATOR = ","
NO_VALUE = ("is_empty", "is_not_empty", "this_day", "this_month")
MAX_DEPTH = 5
MAX_CONDITIONS = 50

STRING, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN, MEMBERSHIP = (
    "string",
    "integer",
    "decimal",
    "date",
    "datetime",
    "boolean",
    "membership",
)
_ORDERED = ("eq", "ne", "lt", "le", "gt", "ge")
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    STRING: (
        *_ORDERED,
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "is_empty",
        "is_not_empty",
    ),
    INTEGER: (*_ORDERED, "in", "not_in", "is_empty", "is_not_empty"),
    DECIMAL: (*_ORDERED, "in", "not_in", "is_empty", "is_not_empty"),
    DATE: (
        *_ORDERED,
        "in",
        "not_in",
        "is_empty",
        "is_not_empty",
        "days_ago_gt",
        "days_ago_lt",
        "this_day",
        "this_month",
    ),
    DATETIME: (*_ORDERED, "in", "not_in", "is_empty", "is_not_empty", "days_ago_gt", "days_ago_lt"),
    BOOLEAN: ("eq", "ne", "is_empty", "is_not_empty"),
    MEMBERSHIP: ("eq", "ne", "in", "not_in"),
}

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
    "label": ("Label", MEMBERSHIP, "labels__name"),
    "list": ("Customer list (ID)", MEMBERSHIP, "list"),
    "segment": ("Segment (ID)", MEMBERSHIP, "segment"),
}
_NULLABLE = {"birth_date", "purchase_last_date", "optin_at", "last_login_at", "tier"}
# Custom field types (customers.choices.FieldType) -> condition types.
_CUSTOM_TYPES = {"string": STRING, "choice": STRING, "number": DECIMAL, "boolean": BOOLEAN, "date": DATE}
BALANCE_KINDS = {
    "spendable": "spendable",
    "score": "earned",
    "earned": "earned",
    "spent": "spent",
    "pending": "pending",
    "reserved": "reserved",
    "expired": "expired",
}
PURCHASE_METRICS = {"total": DECIMAL, "count": INTEGER, "items": INTEGER}
_EVENT_WINDOW = re.compile(r"^(\d{1,5})d$")


class ConditionError(ValueError):
    """A condition or tree that cannot be applied. `message` is shown to the user; `field` is
    where it is in the tree (``conditions[0].value``), for the API error envelope."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def at(self, prefix: str) -> ConditionError:
        """The same error, its field prefixed with the position of the enclosing node."""
        inner = self.field or ""
        joined = f"{prefix}.{inner}" if inner and not inner.startswith("[") else f"{prefix}{inner}"
        return ConditionError(self.message, joined)


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str | list = ""

    def __str__(self) -> str:
        value = LIST_SEPARATOR.join(map(str, self.value)) if isinstance(self.value, list) else self.value
        return f"{self.field}:{self.operator}:{value}"

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``field:op:value``; the value may itself contain colons."""
        parts = text.split(":", 2)
        if len(parts) == 2 and parts[1] in NO_VALUE:
            parts.append("")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ConditionError(f"“{text}” is not a condition (field:operator:value).")
        return cls(parts[0], parts[1], parts[2])

    def describe(self, fields: dict[str, Attribute]) -> str:
        try:
            label = resolve_attribute(self.field, fields).label
        except ConditionError:
            label = self.field
        text = f"{label} {OPERATORS.get(self.operator, self.operator)}"
        value = str(self).split(":", 2)[2]
        return f"{text} {value}" if value else text

    def as_dict(self) -> dict:
        return {"field": self.field, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class Group:
    """AND ("all") or OR ("any") of conditions and groups."""

    match: str = "all"
    conditions: tuple = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {"match": self.match, "conditions": [c.as_dict() for c in self.conditions]}

    def leaves(self):
        for child in self.conditions:
            if isinstance(child, Group):
                yield from child.leaves()
            else:
                yield child


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    type: str
    path: str  # ORM path, custom__<name> for custom attributes, or the attribute kind's key
    custom: bool = False
    kind: str = "column"  # column, custom, label, list, segment, tier, balance, purchase, events, last_event
    params: tuple = ()
    nullable: bool = False

    def operators(self) -> tuple[str, ...]:
        allowed = TYPE_OPERATORS[self.type]
        if self.type != STRING and not self.nullable:  # aggregates and NOT NULL columns: never empty
            allowed = tuple(o for o in allowed if o not in ("is_empty", "is_not_empty"))
        return allowed


def available_attributes() -> dict[str, Attribute]:
    """Every attribute the pickers offer: built-in fields, custom fields, per-account balances and
    per-structure tiers (three small cached or indexed reads). Parameterised names
    (``purchase.*``, ``events.*``, ``last_event.*``) resolve without being listed."""
    attributes: dict[str, Attribute] = {}
    for name, (label, type_, path) in BUILTIN_FIELDS.items():
        kind = name if name in ("label", "list", "segment", "tier") else "column"
        params = (None,) if name == "tier" else ()  # the tier in any structure
        attributes[name] = Attribute(
            name, label, type_, path, kind=kind, params=params, nullable=name in _NULLABLE
        )
    for custom in custom_fields().values():
        if custom.name in attributes:
            continue
        attributes[custom.name] = Attribute(
            custom.name,
            custom.label or custom.name,
            _CUSTOM_TYPES.get(custom.type, STRING),
            f"custom__{custom.name}",
            custom=True,
            kind="custom",
            nullable=True,
        )
    for code in PointAccount.objects.order_by("code").values_list("code", flat=True):
        for kind in ("spendable", "score", "spent", "pending", "reserved", "expired"):
            name = f"balance.{code}.{kind}"
            attributes[name] = Attribute(
                name, f"{kind.capitalize()} ({code})", INTEGER, name, kind="balance", params=(code, kind)
            )
    for code in TierStructure.objects.order_by("position", "code").values_list("code", flat=True):
        name = f"tier.{code}"
        attributes[name] = Attribute(
            name, f"Tier in {code}", STRING, name, kind="tier", params=(code,), nullable=True
        )
    for period in ("today", "this_month", "last_30days", "last_12months"):
        for metric, type_ in PURCHASE_METRICS.items():
            name = f"purchase.{period}.{metric}"
            label = f"Purchase {metric} ({period.replace('_', ' ')})"
            attributes[name] = Attribute(name, label, type_, name, kind="purchase", params=(period, metric))
    return attributes


def resolve_attribute(name: str, attributes: dict[str, Attribute]) -> Attribute:
    """The attribute called `name`, including the parameterised ones; ConditionError otherwise."""
    if not isinstance(name, str) or not name:
        raise ConditionError("Choose an attribute.", "field")
    found = attributes.get(name)
    if found is not None:
        return found
    head, _, rest = name.partition(".")
    parts = rest.split(".") if rest else []
    if head == "balance" and len(parts) == 2:
        code, kind = parts
        if kind not in BALANCE_KINDS:
            raise ConditionError(
                f"“{name}”: unknown balance {kind!r} (use {', '.join(BALANCE_KINDS)}).", "field"
            )
        if not PointAccount.objects.filter(code=code).exists():
            raise ConditionError(f"“{name}”: there is no point account {code!r}.", "field")
        return Attribute(
            name, f"{kind.capitalize()} ({code})", INTEGER, name, kind="balance", params=(code, kind)
        )
    if head == "purchase" and len(parts) == 2:
        period, metric = parts
        if ALIASES.get(period, period) not in PERIODS:
            raise ConditionError(f"“{name}”: unknown period {period!r} (use {', '.join(PERIODS)}).", "field")
        if metric not in PURCHASE_METRICS:
            raise ConditionError(
                f"“{name}”: unknown purchase figure {metric!r} (use total, count, items).", "field"
            )
        label = f"Purchase {metric} ({period.replace('_', ' ')})"
        return Attribute(
            name, label, PURCHASE_METRICS[metric], name, kind="purchase", params=(period, metric)
        )
    if head == "events" and len(parts) == 2 and parts[0]:
        action, window = parts
        match = _EVENT_WINDOW.match(window)
        if window != "all" and not match:
            raise ConditionError(f"“{name}”: the window must be N days, like 30d, or all.", "field")
        days = int(match.group(1)) if match else None
        label = f"Times {action} performed" + (f" in the last {days} days" if days is not None else "")
        return Attribute(name, label, INTEGER, name, kind="events", params=(action, days))
    if head == "last_event" and len(parts) == 1 and parts[0]:
        return Attribute(
            name, f"Last {parts[0]}", DATETIME, name, kind="last_event", params=(parts[0],), nullable=True
        )
    if head == "tier" and len(parts) == 1:
        if not TierStructure.objects.filter(code=parts[0]).exists():
            raise ConditionError(f"“{name}”: there is no tier structure {parts[0]!r}.", "field")
        return Attribute(
            name, f"Tier in {parts[0]}", STRING, name, kind="tier", params=(parts[0],), nullable=True
        )
    raise ConditionError(f"Unknown attribute “{name}”.", "field")


# --- values -------------------------------------------------------------------------------------


def _as_text(raw) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | Decimal):
        return str(raw)
    if isinstance(raw, str):
        return raw
    raise ConditionError("The value must be text or a number.", "value")


def coerce(attribute: Attribute, raw):
    """The raw value (text, or a JSON number/boolean) as the attribute's type; ConditionError
    (field ``value``) with a readable message otherwise."""
    raw = _as_text(raw)
    if "\x00" in raw:
        raise ConditionError(f"{attribute.label}: the value contains a NUL character.", "value")
    kind = attribute.type
    if kind == STRING:
        if len(raw) > 1000:
            raise ConditionError(f"{attribute.label}: the value is longer than 1000 characters.", "value")
        return raw
    text = raw.strip()
    if kind == MEMBERSHIP:
        if attribute.kind == "label":
            return raw
        if not is_digits(text):
            raise ConditionError(f"{attribute.label}: “{raw}” is not an ID.", "value")
        return int(text)
    if kind == INTEGER:
        try:
            whole = int(text)
        except ValueError:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a whole number.", "value") from None
        if abs(whole) > 2**63 - 1:
            raise ConditionError(f"{attribute.label}: “{raw}” is out of range.", "value")
        return whole
    if kind == DECIMAL:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a number.", "value") from None
        if not number.is_finite() or abs(number) > Decimal(10) ** 15:
            raise ConditionError(f"{attribute.label}: “{raw}” is out of range.", "value")
        return number
    if kind == BOOLEAN:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConditionError(f"{attribute.label}: “{raw}” is not true or false.", "value")
    if kind == DATE:
        date: dt.date | None
        try:
            date = parse_date(text)
        except ValueError:
            date = None
        if date is None:
            raise ConditionError(f"{attribute.label}: “{raw}” is not a date (YYYY-MM-DD).", "value")
        return date
    if kind == DATETIME:
        if clock.is_bare_date(text):  # the whole local day (see _q)
            try:
                day = dt.date.fromisoformat(text)
                clock.date_bound("gt", day)  # the calendar's last day has no end to compare with
                return day
            except (ValueError, OverflowError):
                raise ConditionError(
                    f"{attribute.label}: “{raw}” is not a date (YYYY-MM-DD).", "value"
                ) from None
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
                f"{attribute.label}: “{raw}” is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM).", "value"
            )
        return clock.aware(moment)  # a naive moment is program-local time
    raise ConditionError(f"{attribute.label}: unsupported type {kind}.", "value")


def _days(attribute: Attribute, raw) -> int:
    text = _as_text(raw).strip()
    if not is_digits(text, 6) or int(text) > 100_000:
        raise ConditionError(f"{attribute.label}: “{raw}” is not a number of days.", "value")
    return int(text)


def _split(raw) -> list:
    if isinstance(raw, list):
        if not raw:
            raise ConditionError("Give at least one value.", "value")
        return raw
    return _as_text(raw).split(LIST_SEPARATOR)


# --- compiling ----------------------------------------------------------------------------------


@dataclass
class Context:
    """What a compilation reads besides the tree: the moment "now" and the program's time zone."""

    now: dt.datetime
    zone: ZoneInfo
    environment: str | None = None  # whose clock `now` is (None: every environment at `now`)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.zone).date()

    def local_midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=self.zone)


def make_context(now: dt.datetime | None = None, environment: str | None = None) -> Context:
    """The moment and zone a compilation reads; with `environment`, that environment's clock
    (the sandbox's test clock) and its customers' due tiers."""
    try:
        zone = ZoneInfo(Program.current().time_zone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return Context(now=now or clock.now(environment), zone=zone, environment=environment)


def _has_key(attribute: Attribute) -> Q:
    return Q(custom__has_key=attribute.name)


def _custom_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _custom_q(attribute: Attribute, lookup: str, value) -> Q:
    """Custom attributes live in the `custom` JSON (no JSON nulls or empty strings: events remove
    the key instead). Numbers and booleans compare as JSON values, strings and dates as text
    (dates are ISO strings, which sort as dates). Equality is two-valued (false, never NULL, for a
    missing key) so that its negation includes customers without a value.

    On PostgreSQL equality is containment (`custom @> {"name": value}`), which the GIN index of
    customers migration 0004 answers; other comparisons read the key."""
    value = _custom_value(value)
    if lookup == "exact":
        if connection.vendor == "postgresql":
            return Q(custom__contains={attribute.name: value})
        return Q(**{attribute.path: value}) & _has_key(attribute)
    return Q(**{f"{attribute.path}__{lookup}": value})


def _text_match(attribute: Attribute, predicate, ctx: Context | None = None) -> Q:
    """`predicate(text expression)` (a boolean lookup) for a string attribute, two-valued: false,
    never NULL, for a missing value, so its negation includes customers without one."""
    if attribute.kind == "custom":
        return Q(predicate(KeyTextTransform(attribute.name, "custom"))) & _has_key(attribute)
    if attribute.kind == "tier":
        return _tier_q(attribute, Q(predicate(F("code"))), ctx or make_context())
    q = Q(predicate(F(attribute.path)))
    return q & Q(**{f"{attribute.path}__isnull": False}) if attribute.nullable else q


def _contains_q(attribute: Attribute, value: str, ctx: Context | None = None) -> Q:
    return _text_match(attribute, lambda text: GreaterThan(StrIndex(text, Value(value)), 0), ctx)


def _starts_q(attribute: Attribute, value: str, ctx: Context | None = None) -> Q:
    if not value:
        return _text_match(attribute, lambda text: GreaterThan(StrIndex(text, Value(value)), 0), ctx)
    return _text_match(attribute, lambda text: Exact(Left(text, len(value)), Value(value)), ctx)


def _empty_q(attribute: Attribute) -> Q:
    if attribute.kind == "custom":
        return ~_has_key(attribute)
    if attribute.kind == "tier":
        return ~Q(pk__in=_tier_rows(attribute).values("customer_id"))
    if attribute.kind == "last_event":
        return ~Q(pk__in=_event_rows(attribute.params[0]).values("customer_id"))
    if attribute.nullable:
        return Q(**{f"{attribute.path}__isnull": True})
    if attribute.type == STRING:
        return Q(**{attribute.path: ""})
    return Q(pk__isnull=True)  # never empty: integers and decimals always have a value


def _tier_rows(attribute: Attribute):
    rows = CustomerTier.objects.all()
    return rows.filter(structure__code=attribute.params[0]) if attribute.params[0] else rows


def _tier_q(attribute: Attribute, tier_filter: Q, ctx: Context) -> Q:
    """Customers whose tier (in the attribute's structure, or in any) matches `tier_filter` (a Q
    on Tier) at ctx.now — the effective tier (loyalty.tiers.effective_tier_customers), so a tier
    that expired before the hourly review no longer matches. A tier row never disappears, so
    `is empty` reads the stored rows."""
    tiers = Tier.objects.filter(tier_filter)
    structure_pk = None
    if attribute.params[0]:
        structure_pk = (
            TierStructure.objects.filter(code=attribute.params[0]).values_list("pk", flat=True).first()
        )
        tiers = tiers.filter(structure_id=structure_pk)
    return effective_tier_customers(
        ctx.now, tiers.values_list("pk", flat=True), structure_pk, ctx.environment
    )


def _event_rows(action: str, since: dt.datetime | None = None):
    rows = Event.objects.filter(customer__isnull=False, action=action)
    return rows.filter(effective_at__gte=since) if since is not None else rows


def _grouped(attribute: Attribute, ctx: Context):
    """(rows with one `v` per customer_id, zero-for-missing) for the aggregate attributes."""
    if attribute.kind == "balance":
        code, kind = attribute.params
        account = PointAccount.objects.filter(code=code).values_list("pk", flat=True).first()
        return PointBalance.objects.filter(account_id=account).annotate(v=F(BALANCE_KINDS[kind]))
    if attribute.kind == "purchase":
        period, metric = attribute.params
        start, end = period_bounds(period, ctx.today)
        if metric == "items":
            rows = TransactionItem.objects.filter(
                transaction__customer__isnull=False,
                transaction__status__in=COUNTED,
                transaction__checkout_at__gte=ctx.local_midnight(start),
                transaction__checkout_at__lt=ctx.local_midnight(end),
            )
            return (
                rows.values(customer_id=F("transaction__customer_id"))
                .annotate(v=Sum(F("quantity") - F("refunded_quantity")))
                .order_by()
            )
        rows = Transaction.objects.filter(
            customer__isnull=False,
            status__in=COUNTED,
            checkout_at__gte=ctx.local_midnight(start),
            checkout_at__lt=ctx.local_midnight(end),
        )
        aggregate = Sum(F("total") - F("refunded_value")) if metric == "total" else Count("id")
        return rows.values("customer_id").annotate(v=aggregate).order_by()
    if attribute.kind == "events":
        action, days = attribute.params
        since = ctx.now - dt.timedelta(days=days) if days is not None else None
        # count(*), not count(id): the covering index event_action_history answers it alone.
        return _event_rows(action, since).values("customer_id").annotate(v=Count("*")).order_by()
    raise AssertionError(attribute.kind)


def _aggregate_q(attribute: Attribute, op: str, value, ctx: Context) -> Q:
    """`v op value` where v is a per-customer figure and customers without rows have 0: rows that
    pass (pk IN ...), or, when 0 passes too, customers without a failing row (pk NOT IN ...)."""
    existence = _existence_q(attribute, op, value, ctx)
    if existence is not None:
        return existence
    rows = _grouped(attribute, ctx)
    passes = Q(**{f"v__{'exact' if op == 'eq' else _LOOKUP[op]}": value})
    if _COMPARE[op](0, value):
        return ~Q(pk__in=rows.filter(~passes).values("customer_id"))
    return Q(pk__in=rows.filter(passes).values("customer_id"))


ALWAYS, NEVER = Q(pk__isnull=False), Q(pk__isnull=True)


def _existence_q(attribute: Attribute, op: str, value, ctx: Context) -> Q | None:
    """An event count compared so that every count from 1 up gives the same answer ("at least
    once", "> 0", "= 0", "< 1" in the last D days) asks only whether the customer has a row: a
    plain semi-join, no GROUP BY: the planner hashes the window's customer IDs (the covering index
    event_action_history, for a whole build) or probes event_customer_action_time, which carries
    effective_at, per customer (a capped live count that stops at 100,000 members). None otherwise.
    (Other counts group the window: measured against EXISTS (... OFFSET k - 1) probes per customer,
    the GROUP BY took less CPU for "at least 3 times", bench_segment_counts.)"""
    if attribute.kind != "events":
        return None
    compare = _COMPARE[op]
    if len({compare(n, value) for n in (1, 2, value - 1, value, value + 1) if n >= 1}) != 1:
        return None
    any_passes, zero_passes = compare(1, value), compare(0, value)
    if any_passes == zero_passes:
        return ALWAYS if any_passes else NEVER
    action, days = attribute.params
    since = ctx.now - dt.timedelta(days=days) if days is not None else None
    rows = Q(pk__in=_event_rows(action, since).values("customer_id"))
    return rows if any_passes else ~rows


def _in_q(attribute: Attribute, values: list, ctx: Context) -> Q:
    """`in` of a non-aggregate attribute: one IN (or one subquery), not an OR of equalities."""
    if attribute.kind == "tier":
        return _tier_q(attribute, Q(code__in=values), ctx)
    if attribute.kind == "label":
        through = Customer.labels.through.objects.filter(label__name__in=values)
        return Q(pk__in=through.values("customer_id"))
    if attribute.kind == "list":
        return Q(pk__in=CustomerListMember.objects.filter(customer_list_id__in=values).values("customer_id"))
    if attribute.kind == "segment":
        members = SegmentMember.objects.filter(segment_id__in=values, left_at__isnull=True)
        return Q(pk__in=members.values("customer_id"))
    if attribute.kind in ("custom", "last_event") or attribute.type == DATETIME:
        # (a bare date on a date-time attribute is that whole local day: one range per value, _q)
        q = NEVER
        for value in values:
            q |= _q(attribute, "exact", value, ctx)
        return q
    return Q(**{f"{attribute.path}__in": values})


def _last_event_q(attribute: Attribute, lookup: str, value) -> Q:
    """The time of the customer's last X compared with `value`, as semi-joins on the time range
    (index event_action_history, or a probe per customer of event_customer_action_time), never a
    max() grouped over every X ever: last > t is "some X after t"; last < t ("last checkout more
    than N days ago") is "some X, and none from t on"; last = t is "an X at t and none after"."""
    action = attribute.params[0]

    def some(range_lookup: str) -> Q:
        rows = _event_rows(action).filter(**{f"effective_at__{range_lookup}": value})
        return Q(pk__in=rows.values("customer_id"))

    if lookup in ("gt", "gte"):
        return some(lookup)
    ever = Q(pk__in=_event_rows(action).values("customer_id"))
    if lookup == "lt":
        return ever & ~some("gte")
    if lookup == "lte":
        return ever & ~some("gt")
    if lookup == "exact":
        return some("exact") & ~some("gt")
    raise AssertionError(lookup)


def _membership_q(attribute: Attribute, value) -> Q:
    if attribute.kind == "label":
        through = Customer.labels.through.objects.filter(label__name=value)
        return Q(pk__in=through.values("customer_id"))
    if attribute.kind == "list":
        return Q(pk__in=CustomerListMember.objects.filter(customer_list_id=value).values("customer_id"))
    return Q(
        pk__in=SegmentMember.objects.filter(segment_id=value, left_at__isnull=True).values("customer_id")
    )


def _q(attribute: Attribute, lookup: str, value, ctx: Context) -> Q:
    """One comparison (`exact`, `lt`, `lte`, `gt`, `gte`) of a non-aggregate attribute. A bare date
    against a date-time names the whole local day (clock.date_bound): `eq` is that day, `lte`
    includes it to its end, `gt` starts after it."""
    if attribute.type == DATETIME and type(value) is dt.date:
        if lookup == "exact":
            return _q(attribute, *clock.date_bound("gte", value), ctx) & _q(
                attribute, *clock.date_bound("lte", value), ctx
            )
        return _q(attribute, *clock.date_bound(lookup, value), ctx)
    if attribute.kind in ("label", "list", "segment"):
        return _membership_q(attribute, value)
    if attribute.kind == "custom":
        return _custom_q(attribute, lookup, value)
    if attribute.kind == "tier":
        return _tier_q(attribute, Q(**{f"code__{lookup}": value}), ctx)
    if attribute.kind == "last_event":
        return _last_event_q(attribute, lookup, value)
    return Q(**{attribute.path if lookup == "exact" else f"{attribute.path}__{lookup}": value})


def _relative_q(attribute: Attribute, op: str, raw, ctx: Context) -> Q:
    if op in ("this_day", "this_month"):
        today = ctx.today
        if attribute.kind == "custom":
            text = KeyTextTransform(attribute.name, "custom")
            if op == "this_day":
                return Q(Exact(Substr(text, 6, 5), Value(f"{today:%m-%d}"))) & _has_key(attribute)
            return Q(Exact(Substr(text, 6, 2), Value(f"{today:%m}"))) & _has_key(attribute)
        if op == "this_day":
            return Q(**{f"{attribute.path}__month": today.month, f"{attribute.path}__day": today.day})
        return Q(**{f"{attribute.path}__month": today.month})
    days = _days(attribute, raw)
    lookup = "lt" if op == "days_ago_gt" else "gte"
    if attribute.type == DATE:
        return _q(attribute, lookup, ctx.today - dt.timedelta(days=days), ctx)
    return _q(attribute, lookup, ctx.now - dt.timedelta(days=days), ctx)


def compile_condition(
    condition: Condition, attributes: dict[str, Attribute], ctx: Context | None = None
) -> Q:
    """One condition as one Q. ConditionError names `field`, `operator` or `value`."""
    ctx = ctx or make_context()
    attribute = resolve_attribute(condition.field, attributes)
    op = condition.operator
    if op not in OPERATORS:
        raise ConditionError(f"Unknown operator “{op}” (use one of {', '.join(OPERATORS)}).", "operator")
    if op not in attribute.operators():
        allowed = ", ".join(OPERATORS[o] for o in attribute.operators())
        raise ConditionError(
            f"{attribute.label}: “{OPERATORS[op]}” does not apply (use {allowed}).", "operator"
        )
    if op == "is_empty":
        return _empty_q(attribute)
    if op == "is_not_empty":
        return ~_empty_q(attribute)
    if op in ("days_ago_gt", "days_ago_lt", "this_day", "this_month"):
        return _relative_q(attribute, op, condition.value, ctx)
    aggregate = attribute.kind in ("balance", "purchase", "events")
    if op in ("in", "not_in"):
        values = [coerce(attribute, part) for part in _split(condition.value)]
        if aggregate:
            # An aggregate "in" is a few equalities; zero-aware, like every aggregate comparison.
            q = Q(pk__isnull=True)
            for value in values:
                q |= _aggregate_q(attribute, "eq", value, ctx)
        else:
            q = _in_q(attribute, values, ctx) if values else NEVER
        return ~q if op == "not_in" else q
    if isinstance(condition.value, list):
        raise ConditionError(f"{attribute.label}: give one value, not a list.", "value")
    if attribute.kind in ("segment", "list"):
        value = coerce(attribute, condition.value)
        _check_exists(attribute, value)
    else:
        value = coerce(attribute, condition.value)
    if op in ("contains", "not_contains", "starts_with"):
        q = _starts_q(attribute, value, ctx) if op == "starts_with" else _contains_q(attribute, value, ctx)
        return ~q if op == "not_contains" else q
    if aggregate:
        if op == "ne":
            return ~_aggregate_q(attribute, "eq", value, ctx)
        return _aggregate_q(attribute, op, value, ctx)
    if op == "eq":
        return _q(attribute, "exact", value, ctx)
    if op == "ne":
        return ~_q(attribute, "exact", value, ctx)
    return _q(attribute, _LOOKUP[op], value, ctx)


def _check_exists(attribute: Attribute, value: int) -> None:
    model = Segment if attribute.kind == "segment" else CustomerList
    if not model.objects.filter(pk=value).exists():
        raise ConditionError(f"{attribute.label}: there is no {attribute.kind} with ID {value}.", "value")


def compile_conditions(
    conditions: list[Condition], attributes: dict[str, Attribute] | None = None, ctx: Context | None = None
) -> Q:
    """AND of every condition (the filter bar). Raises ConditionError for the first bad one."""
    attributes = attributes if attributes is not None else available_attributes()
    ctx = ctx or make_context()
    q = Q()
    for condition in conditions:
        q &= compile_condition(condition, attributes, ctx)
    return q


# --- trees --------------------------------------------------------------------------------------


def _unparsable(text: str) -> bool:
    try:
        Condition.parse(text)
    except ConditionError:
        return True
    return False


def parse_tree(data, *, _path: str = "", _depth: int = 0, _count: list | None = None) -> Group:
    """A tree from its JSON form (see the module docstring); ConditionError names the bad node.
    At most MAX_DEPTH levels and MAX_CONDITIONS conditions, so every compiled query is bounded."""
    count = _count if _count is not None else [0]
    where = _path or "conditions"
    if not isinstance(data, dict):
        raise ConditionError("A group must be an object with “match” and “conditions”.", where)
    if _depth >= MAX_DEPTH:
        raise ConditionError(f"Groups nest at most {MAX_DEPTH} levels deep.", where)
    match = data.get("match", "all")
    if match not in ("all", "any"):
        raise ConditionError(
            "“match” must be “all” (AND) or “any” (OR).", f"{_path}.match" if _path else "match"
        )
    children = data.get("conditions")
    if not isinstance(children, list):
        raise ConditionError("“conditions” must be a list.", f"{_path}.conditions" if _path else "conditions")
    nodes = []
    for index, child in enumerate(children):
        path = f"{_path}.conditions[{index}]" if _path else f"conditions[{index}]"
        if isinstance(child, dict) and "conditions" in child:
            nodes.append(parse_tree(child, _path=path, _depth=_depth + 1, _count=count))
            continue
        if isinstance(child, str) and _unparsable(child):  # a builder line that is no field:operator:value
            raise ConditionError(f"“{child[:200]}” is not a condition (field:operator:value).", path)
        if not isinstance(child, dict):
            raise ConditionError("A condition must be an object with field, operator and value.", path)
        count[0] += 1
        if count[0] > MAX_CONDITIONS:
            raise ConditionError(f"At most {MAX_CONDITIONS} conditions.", path)
        name, operator, value = child.get("field"), child.get("operator"), child.get("value", "")
        if not isinstance(name, str) or not name:
            raise ConditionError("Choose an attribute.", f"{path}.field")
        if not isinstance(operator, str) or not operator:
            raise ConditionError("Choose an operator.", f"{path}.operator")
        if value is None:
            value = ""
        if isinstance(value, list) and not all(isinstance(v, str | int | float) for v in value):
            raise ConditionError("List values must be text or numbers.", f"{path}.value")
        nodes.append(Condition(name, operator, value))
    return Group(match, tuple(nodes))


def compile_tree(
    tree: Group | dict,
    attributes: dict[str, Attribute] | None = None,
    ctx: Context | None = None,
) -> Q:
    """The whole tree as one Q. A group without conditions sets none (it is dropped from its
    parent; an empty tree matches everyone). ConditionError.field is the path
    of the bad node (``conditions[1].conditions[0].operator``)."""
    group = tree if isinstance(tree, Group) else parse_tree(tree)
    attributes = attributes if attributes is not None else available_attributes()
    ctx = ctx or make_context()
    return _compile_group(group, attributes, ctx, "")


def _compile_group(group: Group, attributes, ctx, path: str) -> Q:
    parts = []
    for index, child in enumerate(group.conditions):
        where = f"{path}.conditions[{index}]" if path else f"conditions[{index}]"
        if isinstance(child, Group):
            inner = _compile_group(child, attributes, ctx, where)
            if inner:  # a group without conditions sets none: dropped, not "everyone"
                parts.append(inner)
            continue
        try:
            parts.append(compile_condition(child, attributes, ctx))
        except ConditionError as error:
            raise error.at(where) from None
    if not parts:
        return Q()
    q = parts[0]
    for part in parts[1:]:
        q = (q & part) if group.match == "all" else (q | part)
    return q


def referenced_segments(tree: Group) -> set[int]:
    """IDs of segments the tree's `segment` conditions name (for cycle checks and build order)."""
    found: set[int] = set()
    for leaf in tree.leaves():
        if leaf.field != "segment":
            continue
        values = leaf.value if isinstance(leaf.value, list) else _as_text(leaf.value).split(LIST_SEPARATOR)
        found.update(int(v) for v in map(str, values) if is_digits(v.strip()))
    return found


__all__ = [
    "Attribute",
    "Condition",
    "ConditionError",
    "Group",
    "OPERATORS",
    "TYPE_OPERATORS",
    "available_attributes",
    "compile_condition",
    "compile_conditions",
    "compile_tree",
    "make_context",
    "parse_tree",
    "referenced_segments",
    "resolve_attribute",
]
