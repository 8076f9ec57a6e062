"""Data extensions of the Customer API (`fields=`): purchases over periods and expiring points.

Purchases come from the transactions app (checkouts that are pending or accepted, less refunds)
when its models are installed; `purchases_available()` says whether they are, so this module
works (reading zeros) before and without that app.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections import defaultdict
from decimal import Decimal

from django.apps import apps
from django.db.models import Sum

from events.errors import ValidationError
from loyalty import clock

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


def purchases_available() -> bool:
    return apps.is_installed("transactions") and _transaction_model() is not None


def _transaction_model():
    try:
        return apps.get_model("transactions", "Transaction")
    except LookupError:
        return None


def _zone(program) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(program.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_range(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) in local dates for a purchase period."""
    tomorrow = today + dt.timedelta(days=1)
    month_start = today.replace(day=1)
    if period == "today":
        return today, tomorrow
    if period == "yesterday":
        return today - dt.timedelta(days=1), today
    if period == "this_month":
        return month_start, tomorrow
    if period == "last_month":
        return _add_months(month_start, -1), month_start
    if period == "this_year":
        return today.replace(month=1, day=1), tomorrow
    if period == "this_week":
        return today - dt.timedelta(days=today.weekday()), tomorrow
    if period == "this_quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), tomorrow
    if period == "last_30days":
        return today - dt.timedelta(days=29), tomorrow
    if period == "last_12months":
        return _add_months(today, -12) + dt.timedelta(days=1), tomorrow
    if period == "last_24months":
        return _add_months(today, -24) + dt.timedelta(days=1), tomorrow
    raise ValueError(period)


def _number(value) -> int | float:
    value = Decimal(value or 0)
    return int(value) if value == value.to_integral_value() else float(value)


def _purchases_queryset(customer):
    Transaction = _transaction_model()
    return Transaction.objects.filter(
        customer=customer, status__in=["pending", "accepted"], checkout_at__isnull=False
    )


def _figures(queryset) -> dict:
    totals = queryset.aggregate(total=Sum("total"), refunded=Sum("refunded_value"))
    items = queryset.aggregate(quantity=Sum("items__quantity"), refunded=Sum("items__refunded_quantity"))
    return {
        "total": _number((totals["total"] or 0) - (totals["refunded"] or 0)),
        "count": queryset.count(),
        "items": int((items["quantity"] or 0) - (items["refunded"] or 0)),
    }


def purchases(customer, program, fields: list[str]) -> dict:
    """The `purchases` extension: `overall` always, plus each requested period or `history`."""
    wanted = [f.split(".", 1)[1] for f in fields if f.startswith("purchases.")]
    empty = {"total": 0, "count": 0, "items": 0}
    if not purchases_available():
        result = {"overall": dict(empty)}
        for name in wanted:
            result[name] = {} if name == "history" else dict(empty)
        return result
    zone = _zone(program)
    queryset = _purchases_queryset(customer)
    result = {"overall": _figures(queryset)}
    today = clock.now().astimezone(zone).date()
    for name in wanted:
        if name == "history":
            result["history"] = _history(queryset, zone)
            continue
        start, end = period_range(PURCHASE_ALIASES.get(name, name), today)
        result[name] = _figures(
            queryset.filter(
                checkout_at__gte=_local_start(start, zone), checkout_at__lt=_local_start(end, zone)
            )
        )
    return result


def _local_start(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _history(queryset, zone) -> dict:
    days: dict[str, dict] = defaultdict(lambda: {"count": 0, "items": 0, "total": 0})
    rows = queryset.values("pk", "checkout_at", "total", "refunded_value")
    item_counts = dict(
        queryset.values("pk")
        .annotate(quantity=Sum("items__quantity"), refunded=Sum("items__refunded_quantity"))
        .values_list("pk", "quantity")
    )
    for row in rows.iterator():
        key = row["checkout_at"].astimezone(zone).date().isoformat()
        day = days[key]
        day["count"] += 1
        day["items"] += int(item_counts.get(row["pk"]) or 0)
        day["total"] = _number(
            Decimal(str(day["total"])) + (row["total"] or 0) - (row["refunded_value"] or 0)
        )
    return dict(sorted(days.items()))


# Expiring points -------------------------------------------------------------------------------


def expiring_points(customer, program, *, account=None, history=False) -> dict:
    """Points that will expire today / this month / this year / next month / next year."""
    from loyalty.models import PointLot
    from loyalty.models.ledger import LotStatus

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
    from loyalty.models import LedgerEntry
    from loyalty.models.ledger import EntryKind

    days: dict[str, int] = defaultdict(int)
    past = LedgerEntry.objects.filter(customer=customer, kind=EntryKind.EXPIRE).values_list(
        "created_at", "amount"
    )
    for when, amount in past.iterator():
        days[when.astimezone(zone).date().isoformat()] += abs(amount)
    for when, remaining in upcoming:
        days[when.astimezone(zone).date().isoformat()] += remaining
    return [{"date": day, "points": points} for day, points in sorted(days.items())]
