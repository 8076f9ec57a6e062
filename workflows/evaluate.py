"""Evaluating the nodes that register nothing: filters, variables, the expression namespace.

Used by both branches: the modifier branch (workflows.triggers, inside the engine's transaction)
and the action branch (workflows.runner, on the task queue). Customer filters compile through the
one condition language (segments.conditions) to one query; event-attribute and variable filters
apply the same trees and operators to values in memory (the event is not stored yet on the
modifier branch, and variables live only in the run).
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import hashlib
import json
import random
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import EmptyResultSet
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
    text = str(value)
    return _number_text(text) if len(text) <= 40 else _parse_number(text)


def _parse_number(text: str):
    try:
        return Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None


# A filter compares with the same few values again and again (its configured ones): short texts'
# numbers are kept (Decimals are immutable).
_number_text = functools.lru_cache(maxsize=4096)(_parse_number)


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


def match_tree(tree: dict, values: dict, group: cond.Group | None = None) -> bool:
    """A condition tree (segments.conditions shape and operators) over values in memory
    (`group`: the tree already parsed, `node_plan`)."""
    if group is None:
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


def _compiled(tree: dict, now: dt.datetime) -> tuple[str, list, int] | None:
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
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # the tree can match nobody (a tier code no tier has): no query
            cache[key] = None
            return None
        params = list(params)
        cache[key] = (sql, params, params.index(_SENTINEL))
    return cache[key]


# Built-in NOT NULL columns of the customer row whose comparison in Python is the SQL comparison:
# case-sensitive text equality / containment / prefix (no collation-dependent ordering), and
# numbers. Everything else (tiers, labels, lists, segments, balances per account, purchases, event
# counts, custom fields, dates) is one query through the condition language.
_MEMORY_TEXT_OPS = frozenset({"eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with"})
_MEMORY_TEXT_OPS |= {"is_empty", "is_not_empty"}
_MEMORY_NUMBER_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"})
_NO_PLAN = object()
_plans: dict[tuple[int, str], tuple[str, dict, object]] = {}


def _memory_leaf(condition: cond.Condition):
    """(attribute name, op, coerced value(s)) for a condition the row answers, else None."""
    spec = cond.BUILTIN_FIELDS.get(condition.field)
    if spec is None or spec[2] != condition.field or condition.field in cond._NULLABLE:
        return None  # not a plain column of the row (tier, label, list, segment...) or nullable
    attribute = cond.Attribute(condition.field, spec[0], spec[1], spec[2])
    op = condition.operator
    allowed = _MEMORY_TEXT_OPS if spec[1] == cond.STRING else _MEMORY_NUMBER_OPS
    if spec[1] not in (cond.STRING, cond.INTEGER, cond.DECIMAL) or op not in allowed:
        return None
    if op in ("is_empty", "is_not_empty"):
        return (condition.field, op, None)
    if op in ("in", "not_in"):
        return (
            condition.field,
            op,
            frozenset(cond.coerce(attribute, v) for v in cond._split(condition.value)),
        )
    if isinstance(condition.value, list):
        return None
    return (condition.field, op, cond.coerce(attribute, condition.value))


def memory_plan(tree: dict):
    """The tree as nested (match, [leaf or group]) the customer row answers without a query, or
    None when any condition needs the database (or the tree does not parse: the query reports it)."""
    try:
        group = cond.parse_tree(tree)
    except cond.ConditionError:
        return None

    def build(group: cond.Group):
        parts = []
        for child in group.conditions:
            if isinstance(child, cond.Group):
                inner = build(child)
                if inner is None:
                    return None
                if inner[1]:  # an empty group sets no condition (as compile_tree drops it)
                    parts.append(inner)
                continue
            try:
                leaf = _memory_leaf(child)
            except cond.ConditionError:
                return None
            if leaf is None:
                return None
            parts.append(leaf)
        return (group.match, parts)

    return build(group)


def _memory_match(plan, customer: Customer) -> bool:
    match, parts = plan
    if not parts:
        return True
    results = (
        _memory_match(part, customer) if len(part) == 2 else _memory_leaf_match(part, customer)
        for part in parts
    )
    return all(results) if match == "all" else any(results)


def _memory_leaf_match(leaf, customer: Customer) -> bool:
    field, op, value = leaf
    actual = getattr(customer, field)
    if op == "is_empty":
        return actual == ""
    if op == "is_not_empty":
        return actual != ""
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if op == "ne":
        return actual != value
    if op == "contains":
        return value in actual
    if op == "not_contains":
        return value not in actual
    if op == "starts_with":
        return actual.startswith(value)
    return cond._COMPARE[op](actual, value)


def node_plan(kind: str, config: dict, version_id: int | None = None, node_id: str = ""):
    """What a filter node needs at run time, prepared once per process for a stored version's node
    (versions are immutable, so the key (version, node) never goes stale): the parsed condition
    group of an event / variable filter, the `memory_plan` of a customer filter (None: a query)."""
    if version_id is None:
        return _prepare(kind, config)
    key = (version_id, node_id)
    kept = _plans.get(key)
    if kept is None or kept[0] != kind or (kept[1] is not config and kept[1] != config):
        # (the config is compared too: a rolled-back version's id can come again on SQLite)
        if len(_plans) > 5000:
            _plans.clear()
        kept = _plans[key] = (kind, config, _prepare(kind, config))
    return None if kept[2] is _NO_PLAN else kept[2]


_NUMBER = re.compile(r"^\s*-?\d{1,15}(?:\.\d{1,15})?\s*$")
_QUOTED = re.compile(r"""^\s*(?:'[^'\\{}]*'|"[^"\\{}]*")\s*$""")


class Constant:
    """A Variable assign whose value is a literal (``1``, ``2.5``, ``'dach'``): the value Jinja
    would give, known without evaluating anything."""

    def __init__(self, value):
        self.value = value


def constant(expression) -> Constant | None:
    if isinstance(expression, int | float) and not isinstance(expression, bool):
        return Constant(expression)
    if isinstance(expression, str) and (_NUMBER.match(expression) or _QUOTED.match(expression)):
        return Constant(ast.literal_eval(expression.strip()))
    return None


def _prepare(kind: str, config: dict):
    if kind == "variable_assign":
        return constant(config.get("value")) or _NO_PLAN
    if kind in ("filter_event", "filter_variable"):
        try:
            return cond.parse_tree(config["conditions"])
        except cond.ConditionError:
            return _NO_PLAN  # match_tree reports it
    if kind == "filter_customer":
        return memory_plan(config["conditions"]) or _NO_PLAN
    return _NO_PLAN


def customer_matches(customer: Customer, tree: dict, now: dt.datetime, plan=None) -> bool:
    """The customer's row against the tree: in memory when `plan` (a `memory_plan`) is given (the
    row is the one locked by the engine, so it is what the query would read), else one indexed
    query through the compiled tree."""
    if plan is not None:
        return _memory_match(plan, customer)
    try:
        compiled = _compiled(tree, now)
    except cond.ConditionError as error:
        raise NodeFailed(error.message) from None
    if compiled is None:
        return False
    sql, params, where = compiled
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


def run_filter(kind: str, config: dict, *, state, plan=None) -> str:
    """success / failure for a filter node. `state` has event, customer, customer_row, vars, now;
    `plan` is the node's `node_plan` (parsed once per process), None to work from the config."""
    if kind == "filter_event":
        hit = match_tree(config["conditions"], state.event, plan)
    elif kind == "filter_variable":
        hit = match_tree(config["conditions"], state.vars, plan)
    elif kind == "filter_customer":
        if state.customer_row is None:
            raise NodeFailed("There is no customer to filter.")
        hit = customer_matches(state.customer_row, config["conditions"], state.now, plan)
    elif kind == "filter_aggregate":
        earned = earned_since(state.customer_row, _period_start(config["period"], state.now))
        hit = cond._COMPARE[config["operator"]](earned, int(config["threshold"]))
        state.detail = {"earned": earned}
    elif kind == "filter_random":
        hit = random.random() * 100 < float(config["percent"])  # noqa: S311 (a split, not a secret)
    else:
        raise NodeFailed(f"{kind} is not a filter.")
    return "success" if hit else "failure"


def assign_variable(config: dict, state, plan: Constant | None = None) -> None:
    """`plan`: the node's `node_plan` (a Constant when the value is a literal)."""
    try:
        value = plan.value if plan is not None else expressions.evaluate(config["value"], state.namespace())
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

    def __init__(
        self, *, event: dict, customer_row, variables: dict, workflow, now: dt.datetime, shared=None
    ):
        self.event = event
        self.customer_row = customer_row
        self.vars = variables
        self.workflow = workflow
        self.now = now
        self.detail: dict = {}
        # `customer` in expressions, built on first use; `shared` (a dict) lets the workflows on
        # one event build it once (the modifier branch: the same locked row for all of them).
        self._shared = shared if shared is not None else {}

    @property
    def customer(self) -> dict:
        values = self._shared.get("customer")
        if values is None:
            values = self._shared["customer"] = customer_namespace(self.customer_row)
        return values

    def customer_changed(self) -> None:
        """The customer's row changed (Modify customer on the modifier branch): later nodes, and
        the other workflows on the same event, read its new values."""
        self._shared.pop("customer", None)

    def namespace(self) -> dict:
        return namespace(
            event=self.event,
            customer=self.customer,
            variables=self.vars,
            workflow=self.workflow,
            now=self.now,
        )
