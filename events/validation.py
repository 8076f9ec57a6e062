"""Validation and coercion of event data against an action's attribute list."""

import datetime as dt
import json
import math
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from loyalty.errors import MissingParameter, ValidationError

from .definitions import ActionSpec

_INT_RE = re.compile(r"^[+-]?\d+$")


def _number(value, name):
    if isinstance(value, bool):
        raise ValidationError(f"Attribute {name!r} must be a number.", field=f"data.{name}")
    if isinstance(value, int):
        return value  # float() of a huge int would raise OverflowError: a 500
    if isinstance(value, int | float):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise ValidationError(f"Attribute {name!r} must be a finite number.", field=f"data.{name}")
        return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
    if isinstance(value, str):
        if not value.isascii():  # Decimal() reads Arabic-Indic and other digits as numbers
            raise ValidationError(f"Attribute {name!r} must be a number.", field=f"data.{name}")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"Attribute {name!r} must be a number.", field=f"data.{name}") from None
        if not number.is_finite():
            raise ValidationError(f"Attribute {name!r} must be a finite number.", field=f"data.{name}")
        if number == number.to_integral_value() and abs(number) < 2**53:
            return int(number)
        if abs(number) > Decimal("1e300"):  # float() would be inf: invalid JSON in PostgreSQL
            raise ValidationError(f"Attribute {name!r} is out of range.", field=f"data.{name}")
        return float(number)
    raise ValidationError(f"Attribute {name!r} must be a number.", field=f"data.{name}")


_ASCII_INT_RE = re.compile(r"^-?[0-9]+$")


def _integer(value, name):
    """An integer, or a string of ASCII digits with an optional minus sign (issue 15): "1e3",
    "12.0", " 7 ", Arabic-Indic digits and JSON floats are refused, never reinterpreted."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= 20 and _ASCII_INT_RE.match(value):
        number = int(value)
    else:
        raise ValidationError(
            f"Attribute {name!r} must be a whole number (an integer or a string of ASCII digits).",
            field=f"data.{name}",
        )
    if abs(number) > 10**15:
        raise ValidationError(f"Attribute {name!r} is out of range.", field=f"data.{name}")
    return number


def _boolean(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "false", "0", "no"}:
        return value.strip().lower() in {"true", "1", "yes"}
    raise ValidationError(f"Attribute {name!r} must be true or false.", field=f"data.{name}")


def _date(value, name):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
        if parsed:
            return parsed.isoformat()
    raise ValidationError(f"Attribute {name!r} must be a date (YYYY-MM-DD).", field=f"data.{name}")


def _datetime(value, name):
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise ValidationError(f"Attribute {name!r} is out of range.", field=f"data.{name}") from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                parsed = dt.datetime.combine(day, dt.time()) if day else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(
                f"Attribute {name!r} must be an ISO 8601 date or date-time.", field=f"data.{name}"
            )
    else:
        raise ValidationError(f"Attribute {name!r} must be a date-time.", field=f"data.{name}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed.isoformat()


def _string(value, name):
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError(f"Attribute {name!r} contains a NUL character.", field=f"data.{name}")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(f"Attribute {name!r} must be a string.", field=f"data.{name}")


def _list(value, name):
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(str(k).isdigit() for k in value):
        # form-encoded bracket syntax gives {"0": ..., "1": ...}
        return [value[k] for k in sorted(value, key=lambda k: int(k))]
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    raise ValidationError(f"Attribute {name!r} must be a list.", field=f"data.{name}")


def _object(value, name):
    if isinstance(value, dict):
        return value
    raise ValidationError(f"Attribute {name!r} must be an object.", field=f"data.{name}")


COERCE = {
    "string": _string,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "list": _list,
    "object": _object,
}


def coerce(type_name: str, value, name: str):
    return COERCE[type_name](value, name)


MAX_DATA_DEPTH = 32  # the API's JSON parser has the same limit (loyalty.api.strictjson)
MAX_DATA_BYTES = 64 * 1024  # settings.EVENT_DATA_MAX_BYTES overrides


def max_data_bytes() -> int:
    return getattr(settings, "EVENT_DATA_MAX_BYTES", MAX_DATA_BYTES)


def check_size(data: dict) -> None:
    """Event data is stored forever (events are immutable): at most MAX_DATA_BYTES of JSON
    (64 KiB, `EVENT_DATA_MAX_BYTES`), whatever the attributes. Unknown attributes of built-in
    actions are kept (integrations send extra context) but bounded by this limit."""
    size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > max_data_bytes():
        raise ValidationError(
            f"Event data may be at most {max_data_bytes()} bytes of JSON ({size} given).", field="data"
        )


def _reject_nul(value, path, depth=0):
    """Refuse what no database stores in JSON: NUL characters (PostgreSQL), NaN/Infinity, lone
    surrogates; and nesting deeper than MAX_DATA_DEPTH."""
    if depth > MAX_DATA_DEPTH:
        raise ValidationError(f"Event data may be nested at most {MAX_DATA_DEPTH} levels deep.", field=path)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Strings may not contain lone UTF-16 surrogates.", field=path) from None
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("Values may not contain NUL characters.", field=path)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("Numbers must be finite.", field=path)
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                raise ValidationError("Keys may not contain NUL characters.", field=path)
            _reject_nul(item, f"{path}.{key}", depth + 1)
    if isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}.{index}", depth + 1)


def validate_data(spec: ActionSpec, data: dict, extra_attrs=()) -> dict:
    """Coerce the listed attributes, check required ones; other attributes pass through."""
    if not isinstance(data, dict):
        raise ValidationError("`data` must be an object.", field="data")
    _reject_nul(data, "data")
    check_size(data)
    clean = dict(data)
    for attr in tuple(spec.attributes) + tuple(extra_attrs):
        value = clean.get(attr.name)
        if value is None or value == "":
            if attr.required:
                raise MissingParameter(
                    f"Missing required attribute {attr.name!r}.", field=f"data.{attr.name}"
                )
            continue
        clean[attr.name] = coerce(attr.type, value, attr.name)
    return clean
