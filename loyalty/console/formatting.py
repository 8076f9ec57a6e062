"""How the console shows values to a person: one date format, one date-time format, grouped
numbers, amounts with their currency, structured data as readable text.

- Dates: ISO `2026-11-29`; date-times: `2026-11-29 08:40`, both in the program's time zone
  (`Program.time_zone`, stated in the page header); the full timestamp with seconds and zone is
  the `title` of the `<time>` element (shown on hover).
- Numbers: grouped with a comma (`8,772`, `-1,250`); decimals keep their places (`1,234.50`).
- Amounts: `1,234.50 EUR` (the program's base currency unless a currency is given).
- Structured values (dicts, lists) never reach the page as Python reprs: `plain()` flattens them
  to `key: value` text, `rows()` gives (label, value) pairs for a table.

Template filters over these: `loyalty.templatetags.console_format` (`{% load console_format %}`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.html import format_html

from loyalty.models import Program

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
FULL_FORMAT = "%Y-%m-%d %H:%M:%S %Z (UTC%z)"
EMPTY = "—"


def program_zone() -> dt.tzinfo:
    """The program's time zone (`Program.time_zone`, an IANA name); UTC when it is not a known zone."""
    name = Program.current().time_zone or "UTC"
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def zone_name() -> str:
    zone = program_zone()
    return getattr(zone, "key", "UTC")


def _aware(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value.astimezone(program_zone())


def _parse(value):
    """A datetime/date, or an ISO string of one (event attributes hold strings); else None."""
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def date_text(value) -> str:
    """`2026-11-29` (a datetime is first moved to the program's zone); `—` for nothing."""
    value = _parse(value) if not isinstance(value, dt.date) else value
    if value is None:
        return EMPTY
    if isinstance(value, dt.datetime):
        value = _aware(value)
    return value.strftime(DATE_FORMAT)


def datetime_text(value) -> str:
    """`2026-11-29 08:40` in the program's zone; a plain date gives the date alone."""
    value = _parse(value) if not isinstance(value, dt.date) else value
    if value is None:
        return EMPTY
    if not isinstance(value, dt.datetime):
        return value.strftime(DATE_FORMAT)
    return _aware(value).strftime(DATETIME_FORMAT)


def full_text(value) -> str:
    """`2026-11-29 08:40:12 CET (UTC+0100)`: the hover text."""
    if isinstance(value, dt.datetime):
        return _aware(value).strftime(FULL_FORMAT)
    if isinstance(value, dt.date):
        return value.isoformat()
    return ""


def time_html(value, with_time: bool = True):
    """`<time datetime="ISO" title="full">shown</time>`; `—` for nothing."""
    parsed = _parse(value) if not isinstance(value, dt.date) else value
    if parsed is None:
        return EMPTY
    shown = datetime_text(parsed) if with_time else date_text(parsed)
    iso = _aware(parsed).isoformat() if isinstance(parsed, dt.datetime) else parsed.isoformat()
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, full_text(parsed), shown)


def number_text(value) -> str:
    """`8,772`; `1,234.5` keeps its decimals; None gives `—`; anything else is shown as text."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    if number == number.to_integral_value() and "." not in str(value):
        return f"{int(number):,}"
    return f"{number:,}"


def money_text(value, currency: str | None = None) -> str:
    """`1,234.50 EUR`: two decimals, grouped, with the currency (the program's by default)."""
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount:,} {currency or Program.current().base_currency}"


def plain(value, label=None) -> str:
    """Any value as text for a person: dicts as `key: value; …`, lists joined by commas,
    dates and numbers in the console formats, None as `—`, booleans as yes/no."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if not value:
            return EMPTY
        return "; ".join(f"{(label or humanize_key)(k)}: {plain(v, label)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        if not value:
            return EMPTY
        return ", ".join(plain(v, label) for v in value)
    if isinstance(value, int | Decimal | float):
        return number_text(value)
    parsed = _parse(value)
    if parsed is not None:
        return datetime_text(parsed)
    return str(value)


def humanize_key(key) -> str:
    """`first_name` -> `First name` (the fallback when no field definition names the key)."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(key)


def changes(before, after, label=None) -> list[dict]:
    """Before -> after rows for a change-log entry: [{"key", "label", "before", "after"}], one per
    key either side holds, in a stable order (the after side's keys first), values as `plain()`
    text. `label(key)` names a key (default: the humanized key)."""
    before = before if isinstance(before, dict) else ({} if before in (None, "") else {"value": before})
    after = after if isinstance(after, dict) else ({} if after in (None, "") else {"value": after})
    label = label or humanize_key
    keys = list(after) + [k for k in before if k not in after]
    return [
        {
            "key": key,
            "label": label(key),
            "before": plain(before.get(key)),
            "after": plain(after.get(key)),
        }
        for key in keys
    ]


def table(items) -> tuple[list[str], list[list[str]]] | None:
    """A list of dicts (checkout items, anything row-shaped) as (headers, rows) of text; None when
    the value is not a non-empty list of dicts."""
    if not isinstance(items, list | tuple) or not items or not all(isinstance(i, dict) for i in items):
        return None
    keys: list[str] = []
    for item in items:
        keys += [k for k in item if k not in keys]
    return [humanize_key(k) for k in keys], [[plain(item.get(k)) for k in keys] for item in items]
