"""Validation and coercion of event data against an action's attribute list.

Each attribute is coerced to its type (`COERCE`), then checked against its declared bounds
(events.definitions: max_length, minimum, maximum; the type's default otherwise).
Dates and date-times follow the program's calendar (loyalty.clock): a bare date is a whole local
day (`Attr.day`: its start, or its end for expiration dates), a naive date-time is local time,
and anything outside years YEAR_MIN..YEAR_MAX (UTC) is refused, so that expiry arithmetic never
leaves what the database holds. Every refusal is a ValidationError naming `data.<attribute>`.
"""

import datetime as dt
import json
import math
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from loyalty import clock
from loyalty.bounds import INTEGER_MAX, LIST_MAX, NUMBER_MAX, TEXT_MAX, YEAR_MAX, YEAR_MIN, is_digits
from loyalty.errors import MissingParameter, ValidationError

from .definitions import ActionSpec, Attr

DATETIME_MIN = dt.datetime(YEAR_MIN, 1, 1, tzinfo=dt.UTC)
DATETIME_MAX = dt.datetime(YEAR_MAX, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)

_INT_RE = re.compile(r"^[+-]?\d+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    """An integer, or a string of ASCII digits with an optional minus sign: "1e3",
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
    if abs(number) > INTEGER_MAX:
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


def _out_of_range(name) -> ValidationError:
    return ValidationError(
        f"Attribute {name!r} must be a date between {YEAR_MIN}-01-01 and {YEAR_MAX}-12-31.",
        field=f"data.{name}",
    )


def _date(value, name):
    parsed = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValidationError(f"Attribute {name!r} must be a date (YYYY-MM-DD).", field=f"data.{name}")
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        raise _out_of_range(name)
    return parsed.isoformat()


def parse_moment(value, name, day: str = "start") -> dt.datetime:
    """An aware UTC date-time from a date-time, an ISO 8601 string or a Unix timestamp.

    A bare date (a `date`, or "YYYY-MM-DD") is the start (day="start") or the end (day="end")
    of that day in the program's time zone; a naive date-time is read in that zone.
    Raises ValidationError (field `data.<name>`) for anything else or outside the years
    YEAR_MIN..YEAR_MAX, including offsets (+14:00) that carry a moment past them."""
    day_only = None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed, day_only = None, value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise _out_of_range(name) from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            # parse_date first: Django's parse_datetime also reads "YYYY-MM-DD" (as midnight).
            day_only = parse_date(text) if _DATE_ONLY.match(text) else None
            parsed = parse_datetime(text) if day_only is None else None
        except ValueError:
            parsed, day_only = None, None
        if parsed is None and day_only is None:
            raise ValidationError(
                f"Attribute {name!r} must be an ISO 8601 date or date-time.", field=f"data.{name}"
            )
    else:
        raise ValidationError(f"Attribute {name!r} must be a date-time.", field=f"data.{name}")
    try:
        if day_only is not None:
            if not YEAR_MIN <= day_only.year <= YEAR_MAX:
                raise _out_of_range(name)
            moment = clock.day_end(day_only) if day == "end" else clock.day_start(day_only)
        else:
            assert parsed is not None
            moment = clock.aware(parsed).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(name) from None
    if not DATETIME_MIN <= moment <= DATETIME_MAX:
        raise _out_of_range(name)
    return moment


def _datetime(value, name, day: str = "start"):
    return parse_moment(value, name, day).isoformat()


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
    if isinstance(value, dict) and all(is_digits(k) for k in value):
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


def check_bounds(attr: Attr, value):
    """`value` (already coerced to attr.type) within attr's declared bounds, or ValidationError."""
    name, field = attr.name, f"data.{attr.name}"
    if attr.type == "string":
        limit = attr.max_length or TEXT_MAX
        if len(value) > limit:
            raise ValidationError(f"Attribute {name!r} is longer than {limit} characters.", field=field)
    elif attr.type == "list":
        if len(value) > (attr.max_items or LIST_MAX):
            raise ValidationError(
                f"Attribute {name!r} has more than {attr.max_items or LIST_MAX} entries.", field=field
            )
        limit = attr.max_length or TEXT_MAX
        for entry in value:
            if isinstance(entry, str) and len(entry) > limit:
                raise ValidationError(
                    f"An entry of attribute {name!r} is longer than {limit} characters.", field=field
                )
    elif attr.type in ("number", "integer"):
        default = INTEGER_MAX if attr.type == "integer" else NUMBER_MAX
        low = attr.minimum if attr.minimum is not None else -default
        high = attr.maximum if attr.maximum is not None else default
        if not low <= Decimal(str(value)) <= high:
            raise ValidationError(f"Attribute {name!r} must be between {low} and {high}.", field=field)
    return value


MAX_DATA_DEPTH = 32  # the API's JSON parser has the same limit (loyalty.api.strictjson)
MAX_DATA_BYTES = 64 * 1024  # settings.EVENT_DATA_MAX_BYTES overrides


def max_data_bytes() -> int:
    return getattr(settings, "EVENT_DATA_MAX_BYTES", MAX_DATA_BYTES)


def check_size(data: dict) -> None:
    """Event data is stored forever (events are immutable): at most MAX_DATA_BYTES of JSON
    (64 KiB, `EVENT_DATA_MAX_BYTES`), whatever the attributes. Unknown attributes of built-in
    actions are kept (integrations send extra context) but bounded by this limit."""
    limit = max_data_bytes()
    if _size_bound(data) <= limit:
        return  # certainly small enough: not dumped (an event of a few attributes, every row)
    size = len(json.dumps(data, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > limit:
        raise ValidationError(
            f"Event data may be at most {max_data_bytes()} bytes of JSON ({size} given).", field="data"
        )


def _size_bound(data: dict) -> float:
    """At least the size check_size measures, counted without dumping, for a flat object of text,
    small integers, booleans and nulls (anything else: infinity, so it is dumped). A character
    takes at most 6 bytes of JSON (an escape such as \\u0001; UTF-8 takes at most 4); an item
    takes its key and value, two quotes, ": " and ", "."""
    size = 2
    for key, value in data.items():
        if type(key) is not str:
            return float("inf")
        kind = type(value)
        if kind is str:
            size += 6 * len(value) + 2
        elif kind is int and -(10**18) < value < 10**18:
            size += 20
        elif kind is bool or value is None:
            size += 5
        else:
            return float("inf")
        size += 6 * len(key) + 6
    return size


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
            if type(item) is str and depth < MAX_DATA_DEPTH and item.isascii() and "\x00" not in item:
                continue  # the common case, decided without a call (ASCII always encodes)
            _reject_nul(item, f"{path}.{key}", depth + 1)
    if isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}.{index}", depth + 1)


def check_storable(value, path: str) -> None:
    """ValidationError (the field `path`) unless every key and value of `value` can be stored in a
    database's text and JSON columns: no NUL, no lone surrogate, finite numbers, at most
    MAX_DATA_DEPTH levels. For request bodies that are kept as they came (the change log)."""
    _reject_nul(value, path)


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
        if attr.type == "datetime":
            clean[attr.name] = _datetime(value, attr.name, attr.day)
        else:
            clean[attr.name] = check_bounds(attr, coerce(attr.type, value, attr.name))
    return clean
