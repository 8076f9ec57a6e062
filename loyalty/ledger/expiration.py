"""When earned points expire: the per-account expiration rules, computed in the program's time zone.

Rules (PointAccount.expiration_rule):
- none:          points never expire (lot.expires_at is NULL);
- fixed_period:  `expiration_period` `expiration_unit`s after the points were earned;
- dynamic:       the same period after the customer's last activity: every new event of the
                 customer pushes the expiration of all their active and pending lots of that
                 account (`push_dynamic_expiration`, one of the documented changes to events);
- absolute:      the next occurrence of `expiration_date` (MM-DD), at the end of that day.

The result is then rounded (`expiration_rounding`) to the end of the day, week (Sunday),
month, quarter or year, 23:59:59 local time, as 003's "Reward expiration" examples show.
With the expiring-points module switched off nothing expires.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from events.immutability import Change, allow
from events.models import Event
from loyalty.models.ledger import ExpirationRule, LotStatus, PeriodUnit, PointAccount, PointLot, Rounding

END_OF_DAY = dt.time(23, 59, 59)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months later, clamping the day (31 January + 1 month = 28/29 February)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_period(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit == PeriodUnit.DAYS:
        return moment + dt.timedelta(days=amount)
    if unit == PeriodUnit.WEEKS:
        return moment + dt.timedelta(weeks=amount)
    if unit == PeriodUnit.MONTHS:
        return add_months(moment, amount)
    if unit == PeriodUnit.YEARS:
        return add_months(moment, 12 * amount)
    raise ValueError(f"unknown period unit {unit!r}")


def _end_of(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=tz)


def round_up(moment: dt.datetime, rounding: str) -> dt.datetime:
    """Round a local (aware) moment up to the end of its day / week / month / quarter / year."""
    tz, day = moment.tzinfo, moment.date()
    if rounding in (Rounding.NONE, "", None):
        return moment
    if rounding == Rounding.END_OF_DAY:
        return _end_of(day, tz)
    if rounding == Rounding.END_OF_WEEK:  # weeks end on Sunday
        return _end_of(day + dt.timedelta(days=6 - day.weekday()), tz)
    if rounding == Rounding.END_OF_MONTH:
        return _end_of(day.replace(day=calendar.monthrange(day.year, day.month)[1]), tz)
    if rounding == Rounding.END_OF_QUARTER:
        last_month = (day.month - 1) // 3 * 3 + 3
        return _end_of(dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]), tz)
    if rounding == Rounding.END_OF_YEAR:
        return _end_of(dt.date(day.year, 12, 31), tz)
    raise ValueError(f"unknown rounding {rounding!r}")


def next_absolute(moment: dt.datetime, month_day: str) -> dt.datetime:
    """The end of the next MM-DD strictly after `moment` (29 February falls back to the 28th)."""
    month, day = (int(part) for part in month_day.split("-"))
    for year in (moment.year, moment.year + 1, moment.year + 2):
        last = calendar.monthrange(year, month)[1]
        candidate = _end_of(dt.date(year, month, min(day, last)), moment.tzinfo)
        if candidate > moment:
            return candidate
    raise ValueError(month_day)  # unreachable


def expiration_for(
    account: PointAccount, earned_at: dt.datetime, *, time_zone: str = "UTC", enabled: bool = True
) -> dt.datetime | None:
    """The expiration date of points earned (or, for the dynamic rule, last active) at `earned_at`."""
    rule = account.expiration_rule
    if not enabled or rule == ExpirationRule.NONE:
        return None
    local = earned_at.astimezone(ZoneInfo(time_zone or "UTC"))
    if rule in (ExpirationRule.FIXED_PERIOD, ExpirationRule.DYNAMIC):
        expires = add_period(local, account.expiration_period, account.expiration_unit)
    elif rule == ExpirationRule.ABSOLUTE:
        if not account.expiration_date:
            return None
        expires = next_absolute(local, account.expiration_date)
    else:
        raise ValueError(f"unknown expiration rule {rule!r}")
    return round_up(expires, account.expiration_rounding).astimezone(dt.UTC)


def program_expiration(program, account: PointAccount, earned_at: dt.datetime) -> dt.datetime | None:
    return expiration_for(account, earned_at, time_zone=program.time_zone, enabled=program.expiring_points)


def push_dynamic_expiration(customer, accounts, program, now: dt.datetime) -> int:
    """Move every active/pending lot of the dynamic-rule accounts to `now` + period, and the
    expiration date of their earning events with them (a documented change to events).

    Two UPDATEs per dynamic account, and none at all when the date did not move (rounding to
    the end of a month keeps it still for a month). Returns the number of lots moved.
    """

    moved = 0
    if not program.expiring_points:
        return 0
    for account in accounts:
        if account.expiration_rule != ExpirationRule.DYNAMIC:
            continue
        expires = program_expiration(program, account, now)
        lots = PointLot.objects.filter(
            customer=customer, account=account, status__in=(LotStatus.ACTIVE, LotStatus.PENDING)
        ).exclude(expires_at=expires)
        event_ids = list(lots.values_list("event_id", flat=True))
        if not event_ids:
            continue
        moved += lots.update(expires_at=expires)
        with allow(Change.EXPIRATION):
            Event.objects.filter(pk__in=event_ids).update(expires_at=expires)
    return moved
