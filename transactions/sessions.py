"""Transactions seen as Talon.One customer sessions (003's Sessions tab and profile summary).

Session state from the transaction status (reference §7.4):

    draft, pending                              -> open
    accepted, nothing returned                  -> closed
    accepted, some items or value returned      -> partially_returned
    refunded (everything returned), rejected    -> cancelled

Profile summary over *closed* sessions (accepted, also when partially returned):
discounted orders (a line discount or a coupon code), undiscounted orders, accrued discounts
(the sum of the lines' discounts) and net revenue (totals less refunded value; a transaction's
total is what the customer paid, after its discounts). One aggregate query per customer (see
`profile_summary`): its cost depends on the customer's own transactions, not on the size of the
database.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from functools import lru_cache

from django.db import connection
from django.db.models import Sum
from django.db.models.functions import Coalesce

from .choices import TransactionStatus as S
from .models import Transaction, TransactionItem

OPEN, CLOSED, PARTIALLY_RETURNED, CANCELLED = "open", "closed", "partially_returned", "cancelled"
STATE_LABELS = {
    OPEN: "Open",
    CLOSED: "Closed",
    PARTIALLY_RETURNED: "Partially returned",
    CANCELLED: "Cancelled",
}


def state(tx, returned_items: int | None = None) -> str:
    if tx.status in (S.DRAFT, S.PENDING):
        return OPEN
    if tx.status in (S.REFUNDED, S.REJECTED):
        return CANCELLED
    returned = returned_items if returned_items is not None else 0
    return PARTIALLY_RETURNED if returned or tx.refunded_value > 0 else CLOSED


def sessions(customer):
    """The customer's transactions, newest first, with `items_count` and `returned_count`."""
    return (
        Transaction.objects.filter(customer=customer)
        .annotate(
            items_count=Coalesce(Sum("items__quantity"), 0),
            returned_count=Coalesce(Sum("items__refunded_quantity"), 0),
        )
        .order_by("-id")
    )


def profile_summary(customer) -> dict:
    """{discounted_orders, undiscounted_orders, accrued_discounts, net_revenue} (closed sessions).

    One query: the customer's accepted transactions through the index (customer, status) that
    carries their totals (transaction_customer_summary, an index-only scan on PostgreSQL), each
    with the sum of its discounted lines through the partial index of lines with a discount
    (transaction_item_discounted): lines without a discount are never read. Its cost follows
    the customer's own orders (about 3 ms for 3,000), not the size of the database. Plain SQL
    written once per process (`_summary_sql`): the ORM's compilation of this aggregate cost more
    CPU than the query, on every profile tab. Amounts are Decimals with 2 places."""
    with connection.cursor() as cursor:
        cursor.execute(_summary_sql(connection.vendor), [customer.pk, S.ACCEPTED])
        discounted, orders, net, discounts = cursor.fetchone()
    return {
        "discounted_orders": int(discounted or 0),
        "undiscounted_orders": int(orders) - int(discounted or 0),
        "accrued_discounts": _money(discounts),
        "net_revenue": _money(net),
    }


_CENT = Decimal("0.01")
_FLOATS = decimal.Context(prec=15)  # what Django's SQLite backend reads a decimal column with


def _money(value) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, float):
        value = _FLOATS.create_decimal_from_float(value)
    return Decimal(value).quantize(_CENT)


@lru_cache(maxsize=4)
def _summary_sql(vendor: str) -> str:
    tx, item = Transaction._meta.db_table, TransactionItem._meta.db_table
    # A coupon code used: a non-empty JSON list (jsonb on PostgreSQL, JSON text elsewhere).
    coupon = (
        "t.coupon_codes <> '[]'::jsonb" if vendor == "postgresql" else "JSON(t.coupon_codes) <> JSON('[]')"
    )
    return (
        "SELECT SUM(CASE WHEN o.line_discounts IS NOT NULL OR o.coupon THEN 1 ELSE 0 END), COUNT(*), "
        "SUM(o.total - o.refunded_value), SUM(o.line_discounts) FROM ("
        f"SELECT t.total, t.refunded_value, ({coupon}) AS coupon, SUM(i.discount) AS line_discounts "
        f"FROM {tx} t LEFT JOIN {item} i ON i.transaction_id = t.id AND i.discount > 0 "
        "WHERE t.customer_id = %s AND t.status = %s GROUP BY t.id) o"
    )


__all__ = ["state", "sessions", "profile_summary", "STATE_LABELS"]
