"""Evaluating the nodes that register nothing: filters, variables, the expression namespace.

Used by both branches: the modifier branch (workflows.triggers, inside the engine's transaction)
and the action branch (workflows.runner, on the task queue). Customer filters compile through the
one condition language (segments.conditions) to one query; event-attribute and variable filters
apply the same trees and operators to values in memory (the event is not stored yet on the
modifier branch, and variables live only in the run).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal, InvalidOperation

from django.db.models import Sum

from customers.models import Customer
from events.models import Event
from loyalty import clock, configcache, expressions, fastsql
from segments import conditions as cond

COMPILED_KEY = "workflows:compiled-customer-filters"
ATTRIBUTES_KEY = "workflows:condition-attributes"


class NodeFailed(Exception):
    """A node that could not be evaluated: its failure output is taken, the reason is logged."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


CUSTOMER_KEYS = (
    "first_name", "last_name", "nickname", "email", "gender", "language", "currency", "phone",
    "mobile_phone", "country", "city", "zip", "status", "score", "spent", "spendable", "pending",
    "reserved", "expired", "purchase_count", "purchase_items",
)  # fmt: skip


def customer_namespace(customer: Customer | None) -> dict:
    """`customer` in expressions: ID (also `_id`, the reference's name), attributes, custom fields
    (also flat), balances over all accounts, tier code and dates as ISO text."""
    if customer is None:
        return {}
    values = {key: getattr(customer, key) for key in CUSTOMER_KEYS}
    values.update(customer.custom or {})
    values["custom"] = dict(customer.custom or {})
    values["id"] = values["_id"] = customer.customer_id
    values["birth_date"] = customer.birth_date.isoformat() if customer.birth_date else None
    values["purchase_total"] = float(customer.purchase_total or 0)
    values["tier"] = customer.tier.code if customer.tier_id and customer.tier else None
    return values


def event_namespace(action: str, data: dict, points: int = 0, transaction_id: str = "", pk=None) -> dict:
    """`event` in expressions and event filters: its data attributes (flat and under `data`), plus
    `action`, `points` (the data's points when the event has not settled them yet) and `id`."""
    values = dict(data)
    values["data"] = dict(data)
    values["action"] = action
    values["points"] = points or plain(_number(data.get("points"))) or 0
    values["transaction_id"] = transaction_id or data.get("transaction_id") or ""
    values["id"] = pk
    return values


def plain(value):
    """A Decimal as the int or float an expression and a JSON attribute expect."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def namespace(*, event: dict, customer: dict, variables: dict, workflow, now: dt.datetime) -> dict:
    return {
        "event": event,
        "customer": customer,
        "vars": variables,
        "workflow": {"id": workflow.pk, "name": workflow.name},
        "now": now,
    }


# --- filters ------------------------------------------------------------------------------------


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _lookup(values: dict, path: str):
    current = values
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _compare(op: str, actual, expected) -> bool:
    missing = actual is None or actual == "" or actual == []
    if op == "is_empty":
        return missing
    if op == "is_not_empty":
        return not missing
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else str(expected).split(cond.LIST_SEPARATOR)
        hit = not missing and any(_compare("eq", actual, option) for option in options)
        return hit if op == "in" else not hit
    if missing:
        return op in ("ne", "not_contains")
    if op in ("contains", "not_contains"):
        text = actual if isinstance(actual, list) else str(actual)
        hit = str(expected) in text if isinstance(text, str) else any(str(expected) == str(v) for v in text)
        return hit if op == "contains" else not hit
    if op == "starts_with":
        return str(actual).startswith(str(expected))
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        if isinstance(actual, bool) or str(expected).lower() in ("true", "false"):
            a, b = str(actual).lower(), str(expected).lower()
        else:
            a, b = str(actual), str(expected)
    if op == "ne":
        return a != b
    if op not in cond._COMPARE:
        raise NodeFailed(f"The operator {op!r} does not apply to a value in memory.")
    try:
        return cond._COMPARE[op](a, b)
    except TypeError:
        return False


def match_tree(tree: dict, values: dict) -> bool:
    """A condition tree (segments.conditions shape and operators) over values in memory."""
    try:
        group = cond.parse_tree(tree)
    except cond.ConditionError as error:
        raise NodeFailed(error.message) from None
    return _match_group(group, values)


def _match_group(group, values: dict) -> bool:
    results = (
        _match_group(child, values)
        if isinstance(child, cond.Group)
        else _compare(child.operator, _lookup(values, child.field), child.value)
        for child in group.conditions
    )
    return all(results) if group.match == "all" else any(results)


_SENTINEL = -7_340_112_993  # a customer pk no row has: marks where the real pk goes in the SQL


def _compiled(tree: dict, now: dt.datetime) -> tuple[str, list, int]:
    """The tree as SQL for "is customer %s in it", compiled once per local day and configuration
    generation: (sql, params, index of the customer pk in params). The attributes (custom fields,
    accounts, tiers) come from process memory, relative dates move daily, and the ORM's compile
    (about 1 ms of CPU) is paid once, not per event."""
    ctx = cond.make_context(now)
    key = (json.dumps(tree, sort_keys=True), ctx.today.isoformat())
    cache = configcache.get(COMPILED_KEY, dict)
    if key not in cache:
        if len(cache) > 1000:
            cache.clear()
        attributes = configcache.get(ATTRIBUTES_KEY, cond.available_attributes)
        q = cond.compile_tree(tree, attributes, ctx)
        query = Customer.objects.filter(q).filter(pk=_SENTINEL).values("pk")[:1].query
        sql, params = query.sql_with_params()
        params = list(params)
        cache[key] = (sql, params, params.index(_SENTINEL))
    return cache[key]


def customer_matches(customer: Customer, tree: dict, now: dt.datetime) -> bool:
    """One indexed query: the customer's row against the compiled tree."""
    try:
        sql, params, where = _compiled(tree, now)
    except cond.ConditionError as error:
        raise NodeFailed(error.message) from None
    params = [*params[:where], customer.pk, *params[where + 1 :]]
    cursor = fastsql.cursor()  # the connection's reused cursor: not closed here
    cursor.execute(sql, params)
    return cursor.fetchone() is not None


def _period_start(period: str, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(clock.zone())
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight
    if period == "week_to_date":
        return midnight - dt.timedelta(days=local.weekday())
    if period == "month_to_date":
        return midnight.replace(day=1)
    return now - dt.timedelta(hours=24)


def earned_since(customer: Customer, since: dt.datetime) -> int:
    """Points earned (positive point events) by the customer since `since` (its history index)."""
    total = Event.objects.filter(customer=customer, timestamp__gte=since, points__gt=0).aggregate(
        s=Sum("points")
    )
    return int(total["s"] or 0)


def run_filter(kind: str, config: dict, *, state) -> str:
    """success / failure for a filter node. `state` has event, customer, customer_row, vars, now."""
    if kind == "filter_event":
        hit = match_tree(config["conditions"], state.event)
    elif kind == "filter_variable":
        hit = match_tree(config["conditions"], state.vars)
    elif kind == "filter_customer":
        if state.customer_row is None:
            raise NodeFailed("There is no customer to filter.")
        hit = customer_matches(state.customer_row, config["conditions"], state.now)
    elif kind == "filter_aggregate":
        earned = earned_since(state.customer_row, _period_start(config["period"], state.now))
        hit = cond._COMPARE[config["operator"]](earned, int(config["threshold"]))
        state.detail = {"earned": earned}
    elif kind == "filter_random":
        hit = random.random() * 100 < float(config["percent"])  # noqa: S311 (a split, not a secret)
    else:
        raise NodeFailed(f"{kind} is not a filter.")
    return "success" if hit else "failure"


def assign_variable(config: dict, state) -> None:
    try:
        value = expressions.evaluate(config["value"], state.namespace())
    except expressions.ExpressionError as error:
        raise NodeFailed(error.message) from None
    if isinstance(value, Decimal):
        value = float(value)
    if not isinstance(value, str | int | float | bool | type(None)):
        value = str(value)
    state.vars[config["name"]] = value
    state.detail = {"name": config["name"], "value": value}


def ab_variant(config: dict, *, workflow_id: int, customer_pk: int | None) -> str:
    """The variant by weight; sticky: a hash of workflow and customer, so a customer keeps it."""
    variants = config["variants"]
    if config.get("sticky", True) and customer_pk is not None:
        digest = hashlib.sha256(f"{workflow_id}:{customer_pk}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % 100
    else:
        point = random.randrange(100)  # noqa: S311
    for variant in variants:
        point -= variant["weight"]
        if point < 0:
            return variant["name"]
    return variants[-1]["name"]


class State:
    """What the nodes of one run read and write: the event and customer as expression values,
    the customer's row (for customer filters), the run's variables and its clock."""

    def __init__(self, *, event: dict, customer_row, variables: dict, workflow, now: dt.datetime):
        self.event = event
        self.customer_row = customer_row
        self.customer = customer_namespace(customer_row)
        self.vars = variables
        self.workflow = workflow
        self.now = now
        self.detail: dict = {}

    def namespace(self) -> dict:
        return namespace(
            event=self.event,
            customer=self.customer,
            variables=self.vars,
            workflow=self.workflow,
            now=self.now,
        )
