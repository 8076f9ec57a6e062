"""Data extensions of the Customer API (`fields=`): purchases over periods and expiring points.

Purchases come from the transactions app (`transactions.stats.purchases`: checkouts that are
pending or accepted, less refunds).
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections import defaultdict

from loyalty import clock
from loyalty.errors import ValidationError
from loyalty.models import LedgerEntry, PointLot
from loyalty.models.ledger import EntryKind, LotStatus
from transactions import stats

PURCHASE_PERIODS = [
    "today",
    "yesterday",
    "last_month",
    "this_month",
    "this_year",
    "this_week",
    "this_quarter",
    "last_30days",
    "last_12months",
    "last_24months",
]
PURCHASE_ALIASES = {"mtd": "this_month", "ytd": "this_year", "wtd": "this_week", "qtd": "this_quarter"}
EXTENSION_FIELDS = (
    {
        "purchases",
        "purchases.history",
        "expiring_points",
        "expiring_points.history",
        "accounts.expiring_points",
    }
    | {f"purchases.{p}" for p in PURCHASE_PERIODS}
    | {f"purchases.{a}" for a in PURCHASE_ALIASES}
)


def parse_fields(value: str | None) -> list[str]:
    """`fields=purchases.mtd,expiring_points` -> the requested extensions; unknown names are a 400."""
    if not value:
        return []
    fields = [item.strip() for item in value.split(",") if item.strip()]
    for item in fields:
        if item not in EXTENSION_FIELDS:
            raise ValidationError(
                f"Unknown data extension {item[:100]!r}; see docs/api.md for the list.", field="fields"
            )
    return fields


def purchases(customer, program, fields: list[str]) -> dict:
    """The `purchases` extension: `overall` always, plus each requested period or `history`.
    A customer not stored yet (a dry run's new profile) reads zeros."""
    wanted = [f.split(".", 1)[1] for f in fields if f.startswith("purchases.")]
    if not customer.pk:
        empty = {"total": 0, "count": 0, "items": 0}
        result = {"overall": dict(empty)}
        for name in wanted:
            result[name] = {} if name == "history" else dict(empty)
        return result
    periods = [name for name in wanted if name != "history"]
    return stats.purchases(customer, periods=periods, history="history" in wanted)


def _zone(program) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(program.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_start(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


# Expiring points -------------------------------------------------------------------------------


def expiring_points(customer, program, *, account=None, history=False) -> dict:
    """Points that will expire today / this month / this year / next month / next year."""

    zone = _zone(program)
    now = clock.now()
    today = now.astimezone(zone).date()
    lots = PointLot.objects.filter(customer=customer, status=LotStatus.ACTIVE, expires_at__isnull=False)
    if account is not None:
        lots = lots.filter(account=account)
    rows: list[tuple[dt.datetime, int]] = [
        (lot.expires_at, lot.points - lot.used - lot.expired_points)
        for lot in lots.only("expires_at", "points", "used", "expired_points")
        if lot.expires_at is not None
        and lot.expires_at >= now
        and lot.points - lot.used - lot.expired_points > 0
    ]

    def between(start: dt.date, end: dt.date) -> int:
        lo, hi = _local_start(start, zone), _local_start(end, zone)
        return sum(remaining for when, remaining in rows if lo <= when < hi)

    tomorrow = today + dt.timedelta(days=1)
    month_start = today.replace(day=1)
    next_month = _add_months(month_start, 1)
    year_start = today.replace(month=1, day=1)
    next_year = year_start.replace(year=year_start.year + 1)
    result: dict = {
        "today": between(today, tomorrow),
        "this_month": between(today, next_month),
        "this_year": between(today, next_year),
        "next_month": between(next_month, _add_months(next_month, 1)),
        "next_year": between(next_year, next_year.replace(year=next_year.year + 1)),
        "reset_date": min(when for when, _ in rows).astimezone(zone).date().isoformat() if rows else None,
    }
    if history:
        result["history"] = _expiration_history(customer, zone, rows)
    return result


def _expiration_history(customer, zone, upcoming) -> list[dict]:
    """Past expirations (ledger) and scheduled ones (active lots), one line per date."""

    days: dict[str, int] = defaultdict(int)
    past = LedgerEntry.objects.filter(customer=customer, kind=EntryKind.EXPIRE).values_list(
        "created_at", "amount"
    )
    for when, amount in past.iterator():
        days[when.astimezone(zone).date().isoformat()] += abs(amount)
    for when, remaining in upcoming:
        days[when.astimezone(zone).date().isoformat()] += remaining
    return [{"date": day, "points": points} for day, points in sorted(days.items())]
