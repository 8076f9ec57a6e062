"""Engine throughput: point_add and point_spend registered in-process through register_event,
compared with a raw psycopg loop doing the same row writes in the same transaction shape.

Runs on PostgreSQL only (DATABASE_URL). It uses its own database, `bench_loyalty` (created and
migrated on first use, kept between runs; BENCH_DB overrides the name), so it never touches
the development or test data. Knobs: BENCH_EVENTS (N, default 2000: N adds + N spends),
BENCH_CUSTOMERS (default 200), BENCH_SYNCHRONOUS_COMMIT (default off: both loops commit without
waiting for the WAL flush, so the figures measure the engine rather than this disk's fsync, which
alone caps any one-transaction-per-event loop at ~100-300/s here; "on" measures that), BENCH_ROUNDS (default 10: engine and raw rounds alternate, so
both see the same machine load).

Raw loop, per event, one transaction:
  point_add:   SELECT customer FOR UPDATE; INSERT event; SELECT balance FOR UPDATE; INSERT lot;
               INSERT ledger entry; UPDATE balance; UPDATE customer
  point_spend: SELECT customer FOR UPDATE; INSERT event; SELECT balance FOR UPDATE;
               SELECT lots in spend order; UPDATE lot; INSERT ledger entry; UPDATE balance;
               UPDATE customer
Every lot holds 10 points and every spend takes 10, so a spend consumes exactly one lot in both.
"""

from __future__ import annotations

import os
import time
import uuid

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections

SPEND_SQL = """
SELECT id, points - used - expired_points - reserved FROM loyalty_pointlot
WHERE customer_id = %s AND account_id = %s AND status = 'active'
  AND points > used + expired_points + reserved
ORDER BY expires_at ASC NULLS LAST, created_at, id LIMIT 50
"""


def _conninfo(name: str) -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=name,
        host=db.get("HOST") or "",
        port=str(db.get("PORT") or ""),
        user=db.get("USER") or "",
        password=db.get("PASSWORD") or "",
    )


def _ensure_database(name: str) -> None:
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _use_database(name: str) -> str:
    connection = connections["default"]
    connection.close()
    previous = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = name
    cache.clear()
    return previous


def _warm_up(ids) -> None:
    from events.engine import register_event

    for customer_id in ids:  # creates the customers and their balance rows (not timed)
        register_event(environment="live", customer=customer_id, action="point_add", data={"points": 10})


CPU = {"engine": 0.0, "raw": 0.0}  # this process's CPU seconds per loop (the client side)


def _engine_round(ids, start: int, count: int) -> float:
    from events.engine import register_event

    cpu = time.process_time()
    began = time.perf_counter()
    for kind, points in (("point_add", 10), ("point_spend", 10)):
        for i in range(start, start + count):
            register_event(
                environment="live", customer=ids[i % len(ids)], action=kind, data={"points": points}
            )
    CPU["engine"] += time.process_time() - cpu
    return time.perf_counter() - began


def _raw_round(conn, pks, start: int, count: int, account_id: int) -> float:
    cpu = time.process_time()
    began = time.perf_counter()
    for kind in ("add", "spend"):
        for i in range(start, start + count):
            pk = pks[i % len(pks)]
            with conn.transaction():
                conn.execute("SELECT id FROM customers_customer WHERE id = %s FOR UPDATE", [pk])
                points = 10 if kind == "add" else -10
                event_id = conn.execute(
                    "INSERT INTO events_event (environment, customer_id, action, label, timestamp, effective_at,"
                    " points, account_id, transaction_id, data, source, reason, user_agent)"
                    " VALUES ('live', %s, %s, %s, now(), now(), %s, %s, '', %s, 'api', '', '') RETURNING id",
                    [pk, "point_" + kind, "Point " + kind, points, account_id, '{"points": 10}'],
                ).fetchone()[0]
                balance = conn.execute(
                    "SELECT id, spendable FROM loyalty_pointbalance WHERE customer_id = %s AND account_id = %s"
                    " FOR UPDATE",
                    [pk, account_id],
                ).fetchone()
                if kind == "add":
                    lot_id = conn.execute(
                        "INSERT INTO loyalty_pointlot (customer_id, account_id, event_id, points, used,"
                        " expired_points, reserved, status, created_at) VALUES (%s, %s, %s, 10, 0, 0, 0,"
                        " 'active', now()) RETURNING id",
                        [pk, account_id, event_id],
                    ).fetchone()[0]
                    entry = ("earn", 10, lot_id)
                    conn.execute(
                        "UPDATE loyalty_pointbalance SET earned = earned + 10, spendable = spendable"
                        " + 10, updated_at = now() WHERE id = %s",
                        [balance[0]],
                    )
                    conn.execute(
                        "UPDATE customers_customer SET score = score + 10, spendable = spendable + 10,"
                        " last_activity_at = now(), updated_at = now() WHERE id = %s",
                        [pk],
                    )
                else:
                    lot_id, remaining = conn.execute(SPEND_SQL, [pk, account_id]).fetchone()
                    conn.execute(
                        "UPDATE loyalty_pointlot SET used = used + 10, status = CASE WHEN %s = 10"
                        " THEN 'exhausted' ELSE 'active' END WHERE id = %s",
                        [remaining, lot_id],
                    )
                    entry = ("spend", -10, lot_id)
                    conn.execute(
                        "UPDATE loyalty_pointbalance SET spent = spent + 10, spendable = spendable - 10,"
                        " updated_at = now() WHERE id = %s",
                        [balance[0]],
                    )
                    conn.execute(
                        "UPDATE customers_customer SET spent = spent + 10, spendable = spendable - 10,"
                        " last_activity_at = now(), updated_at = now() WHERE id = %s",
                        [pk],
                    )
                conn.execute(
                    "INSERT INTO loyalty_ledgerentry (event_id, customer_id, account_id, lot_id, kind, amount,"
                    " spendable_after, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                    [event_id, pk, account_id, entry[2], entry[0], entry[1], balance[1] + entry[1]],
                )
    CPU["raw"] += time.process_time() - cpu
    return time.perf_counter() - began


def _measure(name: str, customers: int, n: int, rounds: int, account_id: int) -> tuple[float, float]:
    """Alternate engine and raw rounds, so both see the same machine load."""
    prefix = uuid.uuid4().hex[:8]
    engine_ids = [f"e{prefix}-{i}" for i in range(customers)]
    raw_ids = [f"r{prefix}-{i}" for i in range(customers)]
    _warm_up(engine_ids + raw_ids)
    engine_seconds = raw_seconds = 0.0
    per_round = max(1, n // rounds)
    sync = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off")
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SET synchronous_commit = {'on' if sync == 'on' else 'off'}")
    with psycopg.connect(_conninfo(name)) as conn:
        conn.execute(f"SET synchronous_commit = {'on' if sync == 'on' else 'off'}")
        found = dict(
            conn.execute(
                "SELECT customer_id, id FROM customers_customer WHERE customer_id = ANY(%s)", [raw_ids]
            ).fetchall()
        )
        conn.commit()
        pks = [found[customer_id] for customer_id in raw_ids]
        for r in range(rounds):
            engine_seconds += _engine_round(engine_ids, r * per_round, per_round)
            raw_seconds += _raw_round(conn, pks, r * per_round, per_round, account_id)
    return engine_seconds, raw_seconds


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_engine: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    name = os.environ.get("BENCH_DB", "bench_loyalty")
    n = int(os.environ.get("BENCH_EVENTS", "2000"))
    customers = int(os.environ.get("BENCH_CUSTOMERS", "200"))
    _ensure_database(name)
    previous = _use_database(name)
    rounds = int(os.environ.get("BENCH_ROUNDS", "10"))
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from loyalty.accounts import default_account

        account_id = default_account().pk
        engine_seconds, raw_seconds = _measure(name, customers, n, rounds, account_id)
    finally:
        _use_database(previous)
    events = 2 * (n // rounds) * rounds
    engine_rate, raw_rate = events / engine_seconds, events / raw_seconds
    print(
        f"engine: {events} events (point_add + point_spend) in {engine_seconds:.2f}s = {engine_rate:.0f} events/s"
    )
    print(f"raw psycopg, same row writes: {raw_seconds:.2f}s = {raw_rate:.0f} events/s")
    print(f"synchronous_commit={os.environ.get('BENCH_SYNCHRONOUS_COMMIT', 'off')}, {customers} customers")
    print(
        f"client CPU per event: engine {CPU['engine'] / events * 1000:.2f} ms, raw {CPU['raw'] / events * 1000:.2f} ms;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"ratio engine/raw time: {engine_seconds / raw_seconds:.2f}x (target <= 2.5x, >= 500 events/s)")
