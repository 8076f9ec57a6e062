"""Reward start and reward expiration of manually added points (003 "Add points", Talon.One's
`pendingDuration` / `validityDuration`).

A choice is one of
- ``default``    the program's rule (points active at once; expiration by the account's rule);
- ``immediate``  (start only) active at once;
- ``unlimited``  (expiration only) the points never expire;
- a relative date: ``<N><unit>`` with unit ``m`` (minutes), ``h`` (hours), ``D`` (days),
  ``W`` (weeks), ``M`` (months) — or the words ``minutes``, ``hours``, ``days``, ``weeks``,
  ``months`` after a space — optionally followed by ``@`` and a snap: ``start_of_day``
  (00:00:00), ``end_of_day`` (23:59:59), ``last_sunday`` (the Sunday ending that week,
  23:59:59) or ``last_day_of_month`` (23:59:59). Examples: ``10m``, ``5D@end_of_day``,
  ``1 weeks@last_sunday``;
- an absolute date: an ISO 8601 date-time (a date alone means its end, 23:59:59).

Relative dates count from the moment the points are added (003: "after the session") in the
program's time zone, and reach at most `MAX_RELATIVE_MONTHS` months ahead (003's bad-input rule:
"relative starts of 1,000 months" are refused). 003's example tables are the tests
(tests/loyalty/test_reward_dates.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from loyalty.errors import ValidationError

from .expiration import add_months

DEFAULT = "default"
IMMEDIATE = "immediate"
UNLIMITED = "unlimited"
MAX_RELATIVE_MONTHS = 120  # ten years

UNITS = {
    "m": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "D": "days",
    "d": "days",
    "day": "days",
    "days": "days",
    "W": "weeks",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "M": "months",
    "month": "months",
    "months": "months",
}
SNAPS = ("start_of_day", "end_of_day", "last_sunday", "last_day_of_month")
UNIT_CHOICES = [
    ("minutes", "minute(s)"),
    ("hours", "hour(s)"),
    ("days", "day(s)"),
    ("weeks", "week(s)"),
    ("months", "month(s)"),
]
SNAP_CHOICES = [
    ("", "—"),
    ("start_of_day", "start of the day"),
    ("end_of_day", "end of the day"),
    ("last_sunday", "on the last Sunday"),
    ("last_day_of_month", "on the last day of the month"),
]
_RELATIVE = re.compile(r"^(\d{1,7})\s*([A-Za-z]+)(?:\s*@\s*([a-z_]+))?$")
_END_OF_DAY = dt.time(23, 59, 59)


@dataclass(frozen=True)
class Relative:
    amount: int
    unit: str  # minutes | hours | days | weeks | months
    snap: str = ""

    def spec(self) -> str:
        return f"{self.amount} {self.unit}" + (f"@{self.snap}" if self.snap else "")


def parse_relative(text: str, field: str) -> Relative | None:
    """`Relative` for a relative spec, None when `text` is not one. Raises ValidationError."""
    match = _RELATIVE.match(text.strip())
    if match is None:
        return None
    amount, unit_text, snap = int(match.group(1)), match.group(2), match.group(3) or ""
    unit = UNITS.get(unit_text) or UNITS.get(unit_text.lower() if len(unit_text) > 1 else unit_text)
    if unit is None:
        raise ValidationError(
            f"Unknown unit {unit_text[:20]!r}: use minutes, hours, days, weeks or months.", field=field
        )
    if snap and snap not in SNAPS:
        raise ValidationError(f"Unknown option {snap[:30]!r}: use one of {', '.join(SNAPS)}.", field=field)
    if amount <= 0:
        raise ValidationError("A relative date needs a number of 1 or more.", field=field)
    return Relative(amount, unit, snap)


def apply_relative(base: dt.datetime, rel: Relative, time_zone: str, field: str) -> dt.datetime:
    """`base` + the relative amount, snapped, in `time_zone`; returned in UTC.

    Raises ValidationError beyond MAX_RELATIVE_MONTHS months."""
    tz = ZoneInfo(time_zone or "UTC")
    local = base.astimezone(tz)
    limit = add_months(local, MAX_RELATIVE_MONTHS)
    if rel.unit == "months":
        if rel.amount > MAX_RELATIVE_MONTHS:
            raise ValidationError(
                f"A relative date reaches at most {MAX_RELATIVE_MONTHS} months ahead.", field=field
            )
        moment = add_months(local, rel.amount)
    else:
        per = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}[rel.unit]
        if rel.amount * per > (limit - local).total_seconds():
            raise ValidationError(
                f"A relative date reaches at most {MAX_RELATIVE_MONTHS} months ahead.", field=field
            )
        # Days and weeks are calendar days in the program's time zone (wall clock kept).
        if rel.unit in ("days", "weeks"):
            days = rel.amount * (7 if rel.unit == "weeks" else 1)
            moment = (local.replace(tzinfo=None) + dt.timedelta(days=days)).replace(tzinfo=tz)
        else:
            moment = (local.astimezone(dt.UTC) + dt.timedelta(seconds=rel.amount * per)).astimezone(tz)
    return snap(moment, rel.snap).astimezone(dt.UTC)


def snap(moment: dt.datetime, how: str) -> dt.datetime:
    """003's options: start / end of the day, the last Sunday (end of that week), the last day of
    the month; the last three at 23:59:59."""
    day, tz = moment.date(), moment.tzinfo
    if not how:
        return moment
    if how == "start_of_day":
        return dt.datetime.combine(day, dt.time(0, 0, 0), tzinfo=tz)
    if how == "end_of_day":
        return dt.datetime.combine(day, _END_OF_DAY, tzinfo=tz)
    if how == "last_sunday":
        return dt.datetime.combine(day + dt.timedelta(days=6 - day.weekday()), _END_OF_DAY, tzinfo=tz)
    if how == "last_day_of_month":
        last = calendar.monthrange(day.year, day.month)[1]
        return dt.datetime.combine(day.replace(day=last), _END_OF_DAY, tzinfo=tz)
    raise ValidationError(f"Unknown option {how!r}.")


def _absolute(text: str, time_zone: str, field: str) -> dt.datetime:
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), _END_OF_DAY)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{text[:40]!r} is neither a relative date (e.g. '5D@end_of_day') nor an ISO 8601 date.",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone or "UTC"))
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError("The date is out of range.", field=field) from None


@dataclass(frozen=True)
class Resolved:
    """What a choice means: `default` True leaves the date to the program's rule; else `moment`
    (None = immediate start / unlimited expiration)."""

    default: bool
    moment: dt.datetime | None = None


def resolve(value, *, kind: str, base: dt.datetime, time_zone: str, field: str) -> Resolved:
    """Resolve a reward start (`kind="start"`) or expiration (`kind="expiration"`) choice.

    Raises ValidationError for unknown keywords, bad relative specs and out-of-range dates."""
    if value in (None, ""):
        return Resolved(default=True)
    if isinstance(value, dt.datetime):
        return Resolved(default=False, moment=value.astimezone(dt.UTC))
    if not isinstance(value, str):
        raise ValidationError("Give a text value (default, a relative or an absolute date).", field=field)
    text = value.strip()
    if text == DEFAULT:
        return Resolved(default=True)
    if kind == "start" and text == IMMEDIATE:
        return Resolved(default=False, moment=None)
    if kind == "expiration" and text == UNLIMITED:
        return Resolved(default=False, moment=None)
    rel = parse_relative(text, field)
    if rel is not None:
        return Resolved(default=False, moment=apply_relative(base, rel, time_zone, field))
    return Resolved(default=False, moment=_absolute(text, time_zone, field))
