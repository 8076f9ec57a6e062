"""`manage.py check_ledger` at growing sizes: time and peak Python memory (tracemalloc).

PostgreSQL (DATABASE_URL). Grows the database with `generate_load_data` (consistent ledgers) to
each size of BENCH_LEDGER_SIZES customers (default 5000,25000) with BENCH_LEDGER_EVENTS events
each (default 20), and runs the invariant walk (`loyalty.ledger.checks.iter_problems`, what the
command runs) once per size. Printed: events, lots, seconds, events/s, peak memory; then the
ratios between the largest and the smallest size. Bounded memory means the memory ratio stays
near 1 while the size ratio grows (the walk holds one chunk of customers' lots and balances).
The data is left in the database (a later run appends; use a scratch database).
"""

from __future__ import annotations

import os
import time
import tracemalloc

from django.core.management import call_command
from django.db import connection

from customers.models import Customer
from loyalty.ledger.checks import iter_problems


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant table names)
        return cursor.fetchone()[0]


def measure() -> dict:
    tracemalloc.start()
    started = time.perf_counter()
    problems = sum(1 for _ in iter_problems(500))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mb": peak / 2**20, "problems": problems}


def run() -> None:
    if connection.vendor != "postgresql":
        print("bench_check_ledger: PostgreSQL only (set DATABASE_URL)")
        return
    call_command("migrate", verbosity=0)
    sizes = [int(s) for s in os.environ.get("BENCH_LEDGER_SIZES", "5000,25000").split(",")]
    per = int(os.environ.get("BENCH_LEDGER_EVENTS", "20"))
    rows = []
    for size in sizes:
        have = Customer.objects.filter(customer_id__startswith="load-").count()
        if have < size:
            call_command("generate_load_data", customers=size - have, events_per_customer=per, verbosity=0)
        events, lots = _count("events_event"), _count("loyalty_pointlot")
        figures = measure()
        rows.append((events, lots, figures))
        print(
            f"  {events:>11,} events {lots:>10,} lots: {figures['seconds']:7.1f} s "
            f"({events / figures['seconds']:,.0f} events/s), peak {figures['peak_mb']:.1f} MiB, "
            f"{figures['problems']} problems"
        )
    if len(rows) > 1:
        (e0, _, f0), (e1, _, f1) = rows[0], rows[-1]
        print(
            f"  size x{e1 / e0:.1f}: time x{f1['seconds'] / f0['seconds']:.1f}, "
            f"peak memory x{f1['peak_mb'] / f0['peak_mb']:.2f}"
        )
