"""`jsonable(value)`: the one conversion of Python values into what a JSON column stores.

Used for event data (events.engine), transaction details and the change log (loyalty.audit).
The rule, one for all of them:
- dict keys become strings; lists, tuples and sets become lists (sets sorted, for stable rows);
- datetimes, dates and times become ISO 8601 strings (`datetime.isoformat()`, offset kept);
- a Decimal becomes a JSON number: an int when it is whole, else a float. Amounts the engine
  accepts are bounded to numeric(14,2), whose values a float's shortest repr gives back exactly
  ("999999999999.99"), and the reference's event data carries amounts as numbers;
- None, bools, ints, floats and strings stay as they are; anything else becomes `str(value)`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

_KEPT = frozenset({str, int, float, bool, type(None)})  # exactly these types stay as they are


def jsonable(value: Any) -> Any:
    if type(value) is dict and all(type(k) is str and type(v) in _KEPT for k, v in value.items()):
        return dict(value)  # a flat dict of plain values (most event data): the same, made at C speed
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return [jsonable(item) for item in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return number(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def number(value: Decimal | int | float | str | None) -> int | float:
    """A money-like amount as a JSON number (the rule above): an int when whole, else a float;
    None or "" is 0. Used by the API's amounts (customers, transactions, purchase figures)."""
    value = Decimal(value or 0)
    return int(value) if value == value.to_integral_value() else float(value)


MAX_JSON_DEPTH = 32  # arrays and objects: the API's bodies, imported JSON files, console JSON fields


def nesting_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in JSON text, scanning at most up to `limit + 1`
    levels (brackets inside strings do not count). Linear, no recursion: checked before
    `json.loads`, so hostile text never reaches Python's recursion limit."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest
