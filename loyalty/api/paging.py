"""Keyset paging for API lists: `?limit=` and an opaque `?after=` cursor (never OFFSET, never COUNT)."""

import base64
import binascii
import json

from django.db.models import Q

from loyalty.bounds import is_digits
from loyalty.errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 100_000
MAX_CURSOR_CHARS = 200  # the longest real cursor (a time and an ID) is under 60


def page_limit(params) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not is_digits(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
    return int(raw)


def encode_cursor(*values) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(params, size: int) -> list | None:
    raw = params.get("after")
    if raw in (None, ""):
        return None
    if len(raw) > MAX_CURSOR_CHARS:  # a forged cursor of nested brackets must not reach json.loads
        raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        values = None
    if not isinstance(values, list) or len(values) != size or any(isinstance(v, list | dict) for v in values):
        raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
    return values


def page(rows: list, limit: int, cursor_of) -> tuple[list, str | None]:
    """`rows` holds up to limit + 1 items; the extra one only says that a next page exists."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(*cursor_of(rows[-1]))
    return rows, None


def cursor_id(value) -> int:
    """A row ID taken from a decoded cursor: a positive 64-bit integer, or a 400 on `after`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
    return value


def page_offset(params) -> int:
    """`?offset=`: rows to skip after the cursor (0 to MAX_OFFSET); deep pages are keyset's job."""
    raw = params.get("offset")
    if raw in (None, ""):
        return 0
    if not is_digits(raw) or int(raw) > MAX_OFFSET:
        raise ValidationError(f"'offset' must be a whole number from 0 to {MAX_OFFSET}.", field="offset")
    return int(raw)


def page_order(params, default: str) -> str:
    raw = params.get("order")
    if raw in (None, ""):
        return default
    if raw.lower() not in ("asc", "desc"):
        raise ValidationError("'order' must be 'asc' or 'desc'.", field="order")
    return raw.lower()


def _decode_named(params, name: str, size: int) -> list | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return decode_cursor({"after": raw}, size)
    except ValidationError as error:
        raise ValidationError(f"'{name}' is not a cursor returned by this endpoint.", field=name) from error


def _link(request, **changes) -> str:
    query = request.query_params.copy()
    for name in ("after", "before", "offset", "api_key"):
        query.pop(name, None)
    for name, value in changes.items():
        query[name] = value
    return f"{request.path}?{query.urlencode()}"


def keyset_envelope(
    request, queryset, *, keys, parse_cursor, cursor_of, render, default_order="desc"
) -> dict:
    """The reference's list envelope `{data, prev, next}` over a keyset pager.

    Parameters: `limit` (1-500), `offset` (rows skipped after the cursor, honoured), `order`
    (asc | desc), `after` / `before` (opaque cursors: what `next` and `prev` carry). `prev` and
    `next` are relative URLs of the neighbouring pages (same filters and limit), null at either end.

    `keys` are the model fields that order the rows uniquely (`("id",)` or `("timestamp", "id")`);
    `parse_cursor(values)` validates a decoded cursor and returns the key values (a 400 on `after`
    otherwise); `cursor_of(row)` gives a row's JSON-able cursor; `render(row)` its object."""
    params = request.query_params
    limit, offset = page_limit(params), page_offset(params)
    ascending = page_order(params, default_order) == "asc"
    after, before = _decode_named(params, "after", len(keys)), _decode_named(params, "before", len(keys))
    if after is not None and before is not None:
        raise ValidationError("Give 'after' or 'before', not both.", field="before")

    def beyond(values, forward: bool):
        values = parse_cursor(values)
        op = "gt" if forward else "lt"
        condition = Q(**{f"{keys[-1]}__{op}": values[-1]})
        for index in range(len(keys) - 2, -1, -1):
            equal = {keys[i]: values[i] for i in range(index + 1)}
            condition = Q(**{f"{keys[index]}__{op}": values[index]}) | (Q(**equal) & condition)
        return condition

    backwards = before is not None
    forward = ascending != backwards
    if after is not None:
        queryset = queryset.filter(beyond(after, ascending))
    if before is not None:
        queryset = queryset.filter(beyond(before, not ascending))
    ordering = [key if forward else f"-{key}" for key in keys]
    rows = list(queryset.order_by(*ordering)[offset : offset + limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_prev = (more and backwards) or (not backwards and (after is not None or offset > 0) and bool(rows))
    return {
        "data": [render(row) for row in rows],
        "prev": _link(request, before=encode_cursor(*cursor_of(rows[0]))) if has_prev else None,
        "next": _link(request, after=encode_cursor(*cursor_of(rows[-1]))) if has_next else None,
    }
