"""The customer sessions export (reference §7.4: Talon.One `export_customer_sessions` columns),
of one customer (the Sessions tab's Export) or of the environment (the API, by creation time).

Columns: id, firstsession, integrationid, applicationid, profileid, profileintegrationid,
created, state, cartitems (JSON: name, sku, quantity, returnedQuantity, price, category),
discounts (the lines' discounts, summed), total, attributes (JSON: the checkout's other
attributes), closedat (accepted at), cancelledat (rejected or fully refunded at), referral,
identifiers, additional_costs, updated, store_integration_id (the channel), coupons (JSON list).
A session's `state` is `transactions.sessions.state`; `applicationid` is the environment.
Timestamps in UTC in a `loyalty.ledger.log.DATE_FORMATS` format. Streamed in id order, no row
limit; free text a spreadsheet would run as a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from django.db.models import Prefetch

from loyalty.ledger.log import DATE_FORMATS

from . import sessions
from .models import Transaction, TransactionItem

COLUMNS = [
    "id",
    "firstsession",
    "integrationid",
    "applicationid",
    "profileid",
    "profileintegrationid",
    "created",
    "state",
    "cartitems",
    "discounts",
    "total",
    "attributes",
    "closedat",
    "cancelledat",
    "referral",
    "identifiers",
    "additional_costs",
    "updated",
    "store_integration_id",
    "coupons",
]


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def rows(*, environment: str, customer=None, created_after=None, created_before=None):
    """The exported sessions (drafts included: an open cart is a session too)."""
    txs = Transaction.objects.filter(environment=environment)
    if customer is not None:
        txs = txs.filter(customer=customer)
    if created_after is not None:
        txs = txs.filter(created_at__gte=created_after)
    if created_before is not None:
        txs = txs.filter(created_at__lt=created_before)
    items = Prefetch("items", queryset=TransactionItem.objects.order_by("line", "id"))
    return txs.select_related("customer").prefetch_related(items).order_by("id")


def export_csv(*, environment: str, date_format: str = "iso8601", **filters):
    pattern = DATE_FORMATS[date_format][1]

    def when(value):
        return value.astimezone(dt.UTC).strftime(pattern) if value else ""

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for tx in rows(environment=environment, **filters).iterator(chunk_size=1000):
        items = list(tx.items.all())
        returned = sum(item.refunded_quantity for item in items)
        state = sessions.state(tx, returned)
        cart = [
            {
                "name": item.product_name,
                "sku": item.product_id,
                "quantity": item.quantity,
                "returnedQuantity": item.refunded_quantity,
                "price": str(item.price),
                "category": item.product_category,
            }
            for item in items
        ]
        data = tx.data if isinstance(tx.data, dict) else {}
        customer = tx.customer
        writer.writerow(
            [
                tx.pk,
                "true" if tx.first_purchase else "false",
                _cell(tx.transaction_id),
                tx.environment,
                customer.pk if customer else "",
                customer.customer_id if customer and customer.anonymized_at is None else "",
                when(tx.created_at),
                state,
                json.dumps(cart, ensure_ascii=False),
                str(sum((item.discount for item in items), start=0)),
                str(tx.total),
                json.dumps({k: v for k, v in data.items() if k != "referral_code"}, ensure_ascii=False),
                when(tx.accepted_at),
                when(tx.closed_at) if state == sessions.CANCELLED else "",
                _cell(str(data.get("referral_code") or "")),
                "[]",
                "{}",
                when(tx.updated_at),
                _cell(tx.channel),
                json.dumps(list(tx.coupon_codes or []), ensure_ascii=False),
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
