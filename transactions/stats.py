"""Purchase statistics: the customer's purchase_* attributes and the `purchases` data extension (001).

A purchase is a pending or accepted transaction (partly refunded ones count with their net value;
rejected, refunded and draft ones do not), as the Customer API's `purchases` extension counts them. Figures are computed from the transactions, so they are
right after updates, refunds and rejections; the handlers call `refresh_customer` after each change.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Max, Sum

from loyalty import clock
from loyalty.bounds import INT4_MAX, PURCHASE_TOTAL_MAX
from loyalty.errors import ValidationError
from loyalty.jsonable import number
from loyalty.models import Program

from .choices import TransactionStatus
from .models import Transaction, TransactionItem

PERIODS = (
    "today",
    "yesterday",
    "this_week",
    "this_month",
    "last_month",
    "this_quarter",
    "this_year",
    "last_30days",
    "last_12months",
    "last_24months",
)
COUNTED = (TransactionStatus.PENDING, TransactionStatus.ACCEPTED)
ALIASES = {"wtd": "this_week", "mtd": "this_month", "qtd": "this_quarter", "ytd": "this_year"}


def _purchases(customer):
    return Transaction.objects.filter(customer=customer, status__in=COUNTED)


def refresh_customer(customer) -> None:
    """Recompute purchase_total/count/items/last_date on the (locked) customer; the engine saves it."""
    figures = _purchases(customer).aggregate(
        total=Sum(F("total") - F("refunded_value")), count=Count("id"), last=Max("checkout_at")
    )
    items = TransactionItem.objects.filter(
        transaction__customer=customer, transaction__status__in=COUNTED
    ).aggregate(n=Sum(F("quantity") - F("refunded_quantity")))["n"]
    _set_figures(customer, figures["total"] or Decimal("0"), figures["count"] or 0, items or 0)
    last = figures["last"]
    customer.purchase_last_date = last.astimezone(_zone()).date() if last else None


def add_purchase(customer, tx, rows) -> None:
    """A new pending or accepted checkout: add it to the figures without re-reading every transaction."""
    _set_figures(
        customer,
        customer.purchase_total + tx.total - tx.refunded_value,
        customer.purchase_count + 1,
        customer.purchase_items + sum(row.quantity - row.refunded_quantity for row in rows),
    )
    day = tx.checkout_at.astimezone(_zone()).date()
    if customer.purchase_last_date is None or day > customer.purchase_last_date:
        customer.purchase_last_date = day


def _set_figures(customer, total: Decimal, count: int, items: int) -> None:
    """Set the customer's purchase figures, refusing (400) sums their columns cannot hold
    (purchase_total numeric(14,2), purchase_count/items int4): the purchase is
    refused rather than every later event of the customer failing."""
    if total > PURCHASE_TOTAL_MAX:
        raise ValidationError(
            f"This purchase would take the customer's purchase total over {PURCHASE_TOTAL_MAX}.",
            field="data.total",
        )
    if items > INT4_MAX or count > INT4_MAX:
        raise ValidationError(
            "This purchase would take the customer's purchased item count out of range.", field="data.items"
        )
    customer.purchase_total, customer.purchase_count, customer.purchase_items = total, count, items


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(Program.current().time_zone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _same_day_months_ago(day: dt.date, months: int) -> dt.date:
    first = _add_months(day.replace(day=1), -months)
    return first.replace(day=min(day.day, calendar.monthrange(first.year, first.month)[1]))


def period_bounds(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) in local dates."""
    name = ALIASES.get(name, name)
    month_start = today.replace(day=1)
    tomorrow = today + dt.timedelta(days=1)
    if name == "today":
        return today, tomorrow
    if name == "yesterday":
        return today - dt.timedelta(days=1), today
    if name == "this_week":
        return today - dt.timedelta(days=today.weekday()), tomorrow
    if name == "this_month":
        return month_start, tomorrow
    if name == "last_month":
        return _add_months(month_start, -1), month_start
    if name == "this_quarter":
        return month_start.replace(month=(today.month - 1) // 3 * 3 + 1), tomorrow
    if name == "this_year":
        return today.replace(month=1, day=1), tomorrow
    if name == "last_30days":
        return today - dt.timedelta(days=29), tomorrow
    if name == "last_12months":  # rolling: from this day 12 months ago (exclusive)
        return _same_day_months_ago(today, 12) + dt.timedelta(days=1), tomorrow
    if name == "last_24months":
        return _same_day_months_ago(today, 24) + dt.timedelta(days=1), tomorrow
    raise ValueError(f"unknown period {name!r}")


def _figures(rows) -> dict:
    return {
        "total": number(sum((row[1] for row in rows), Decimal("0"))),
        "count": len(rows),
        "items": sum(row[2] for row in rows),
    }


def purchases(customer, periods=(), history: bool = False, now: dt.datetime | None = None) -> dict:
    """The 001 `purchases` extension: `overall`, each requested period (aliases kept as asked)
    and, with history=True, `history` by local date. Unknown period names raise ValueError."""
    zone = _zone()
    today = (now or clock.now(customer.environment)).astimezone(zone).date()
    item_counts = dict(
        TransactionItem.objects.filter(transaction__customer=customer, transaction__status__in=COUNTED)
        .values("transaction_id")
        .annotate(n=Sum(F("quantity") - F("refunded_quantity")))
        .values_list("transaction_id", "n")
    )
    rows = [
        (checkout_at.astimezone(zone).date(), total - refunded, item_counts.get(pk) or 0)
        for pk, checkout_at, total, refunded in _purchases(customer)
        .exclude(checkout_at=None)
        .values_list("pk", "checkout_at", "total", "refunded_value")
    ]
    result = {"overall": _figures(rows)}
    for name in periods:
        if name in ("overall", "history"):
            continue
        start, end = period_bounds(name, today)
        result[name] = _figures([row for row in rows if start <= row[0] < end])
    if history:
        by_day: dict[dt.date, list] = {}
        for row in rows:
            by_day.setdefault(row[0], []).append(row)
        result["history"] = {day.isoformat(): _figures(day_rows) for day, day_rows in sorted(by_day.items())}
    return result
