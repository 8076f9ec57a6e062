"""Checkout throughput: `checkout` events with 5 items registered in-process through register_event
(transaction + items rows, earning rule, points credited, purchase statistics), compared with plain
`point_add` events through the same engine.

PostgreSQL only (DATABASE_URL). Uses its own database, `bench_commerce` (BENCH_DB overrides; created
and migrated on first use). Knobs: BENCH_EVENTS (per kind, default 1000), BENCH_CUSTOMERS (200),
BENCH_ROUNDS (10: checkout and point_add rounds alternate, so both see the same machine load),
BENCH_SYNCHRONOUS_COMMIT (default off, as bench_engine: measure the engine, not the disk's fsync).
"""

from __future__ import annotations

import os
import time
import uuid

from django.conf import settings
from django.db import connections

from bench.bench_engine import _ensure_database, _use_database

ITEMS = [
    {
        "product_id": f"SKU-{n}",
        "product_name": f"Product {n}",
        "product_url": f"https://example.com/p/{n}",
        "product_category": "shirts" if n % 2 else "shoes",
        "quantity": "1",
        "price": "20",
        "subtotal": "20",
    }
    for n in range(5)
]


def _checkout_round(ids, prefix, start, count) -> float:
    from events.engine import register_event

    began = time.perf_counter()
    for i in range(start, start + count):
        register_event(
            environment="live",
            customer=ids[i % len(ids)],
            action="checkout",
            data={"transaction_id": f"{prefix}-{i}", "total": "100", "items": ITEMS},
        )
    return time.perf_counter() - began


def _point_add_round(ids, start, count) -> float:
    from events.engine import register_event

    began = time.perf_counter()
    for i in range(start, start + count):
        register_event(
            environment="live", customer=ids[i % len(ids)], action="point_add", data={"points": 10}
        )
    return time.perf_counter() - began


def _measure(customers: int, n: int, rounds: int) -> tuple[float, float, int]:
    from events.engine import register_event
    from loyalty.ledger.accounts import default_account
    from transactions.models import EarningRule

    EarningRule.objects.update_or_create(
        account=default_account(), defaults={"points_per_unit": 1, "category_multipliers": {"shoes": 2}}
    )
    prefix = uuid.uuid4().hex[:8]
    ids = [f"c{prefix}-{i}" for i in range(customers)]
    for customer_id in ids:  # customers and balance rows exist before timing
        register_event(environment="live", customer=customer_id, action="point_add", data={"points": 10})
    sync = "on" if os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off") == "on" else "off"
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SET synchronous_commit = {sync}")
    per_round = max(1, n // rounds)
    checkout_seconds = add_seconds = 0.0
    for r in range(rounds):
        checkout_seconds += _checkout_round(ids, prefix, r * per_round, per_round)
        add_seconds += _point_add_round(ids, r * per_round, per_round)
    return checkout_seconds, add_seconds, per_round * rounds


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_checkout: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    from django.core.management import call_command

    name = os.environ.get("BENCH_DB", "bench_commerce")
    n = int(os.environ.get("BENCH_EVENTS", "1000"))
    customers = int(os.environ.get("BENCH_CUSTOMERS", "200"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "10"))
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        checkout_seconds, add_seconds, events = _measure(customers, n, rounds)
    finally:
        _use_database(previous)
    checkout_rate, add_rate = events / checkout_seconds, events / add_seconds
    print(f"checkout (5 items): {events} events in {checkout_seconds:.2f}s = {checkout_rate:.0f} events/s")
    print(f"point_add:          {events} events in {add_seconds:.2f}s = {add_rate:.0f} events/s")
    print(
        f"ratio checkout/point_add time: {checkout_seconds / add_seconds:.2f}x "
        f"(synchronous_commit={os.environ.get('BENCH_SYNCHRONOUS_COMMIT', 'off')}, {customers} customers)"
    )
