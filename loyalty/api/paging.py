"""Keyset paging for API lists: `?limit=` and an opaque `?after=` cursor (never OFFSET, never COUNT)."""

import base64
import binascii
import json

from loyalty.errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 100_000
MAX_CURSOR_CHARS = 200  # the longest real cursor (a time and an ID) is under 60


def page_limit(params) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
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
