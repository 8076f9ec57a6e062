"""The API's JSON body parser: standard JSON with the limits an immutable event store needs.

Refused, as `400` code 140400 with a message naming the problem (`field` names the path when
known):

- a body nested deeper than `MAX_DEPTH` (32) arrays or objects: checked by a scan of the raw text
  before `json.loads`, so a hostile body never reaches Python's recursion limit (a
  `RecursionError` would be a 500);
- duplicate keys in one object (`{"points": 1, "points": 1000}`): JSON leaves their meaning open,
  and "last one wins" silently accepts the sender's mistake;
- lone UTF-16 surrogates (`"\\ud800"`): valid JSON escapes but not Unicode text, so no database
  or log can store them (a `UnicodeEncodeError` would be a 500);
- `NaN`, `Infinity` and `-Infinity`: not JSON (RFC 8259), and not storable in PostgreSQL's jsonb;
  nor a number beyond a float's range (`1e400`, `-1e400`), which Python would read as infinity.

The same depth limit applies to form-encoded bodies (loyalty.api.parsers.MAX_DEPTH is lower).
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from loyalty.jsonable import MAX_JSON_DEPTH, nesting_depth

MAX_DEPTH = MAX_JSON_DEPTH


class BodyError(ParseError):
    """A parse error that names the offending place in the body."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _pairs(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise BodyError(f"Duplicate key {key[:100]!r} in a JSON object.", field=key[:100])
        result[key] = value
    return result


def _constant(name):
    raise BodyError(f"{name} is not a JSON value.")


def _float(text: str) -> float:
    """A JSON number with a fraction or exponent; one beyond a float's range (`1e400`) would
    become infinity, which no amount, attribute or jsonb column can hold."""
    value = float(text)
    if math.isinf(value):
        raise BodyError(f"The number {text[:40]} is out of range (at most about 1.8e308).")
    return value


def check_text(value, path: str = "") -> None:
    """Refuse strings (and keys) that are not Unicode text: lone surrogates. Iterative."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, where)
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{where}.{index}" if where else str(index)) for index, child in enumerate(item)
            )


def _check_string(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(
            "Strings may not contain lone UTF-16 surrogates (\\ud800-\\udfff without a pair).",
            field=where[:200] or None,
        ) from None


def loads(text: str):
    """Parse JSON text under the rules above; BodyError (a DRF ParseError) otherwise."""
    if nesting_depth(text) > MAX_DEPTH:
        raise BodyError(f"The JSON body is nested deeper than {MAX_DEPTH} levels.")
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
    except BodyError:
        raise
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"JSON parse error - {exc}") from None
    check_text(value)
    return value


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise BodyError(f"The body is not valid {encoding}: {exc}") from None
        return loads(text)
