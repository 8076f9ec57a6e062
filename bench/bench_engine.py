"""Engine throughput: point_add and point_spend registered in-process through register_event,
compared with a raw psycopg loop doing the same row writes in the same transaction shape.

Runs on PostgreSQL only (DATABASE_URL). It uses its own database, `bench_loyalty` (created and
migrated on first use, kept between runs; BENCH_DB overrides the name), so it never touches
the development or test data. It measures production settings (DEBUG off) after a VACUUM ANALYZE
(this machine's PostgreSQL runs without autovacuum; without statistics the planner picked a
country index for the customer lookup, 2 ms a lookup).

Each measurement runs with 1 worker process and with one per CPU core (BENCH_WORKERS, default
"1,<cores>"): the workers start together, each with its own connection and its own customers (as
API workers serving different customers would), and events/s is all workers' events over the
wall time from the first start to the last end. The raw loop runs with the same workers.

Knobs: BENCH_EVENTS (N, default 2000: N adds + N spends per measurement), BENCH_CUSTOMERS (per
worker, default 200), BENCH_SYNCHRONOUS_COMMIT (default off: both loops commit without waiting for
the WAL flush, so the figures measure the engine rather than this disk's fsync, which alone caps
any one-transaction-per-event loop at ~100-300/s here; "on" measures that), BENCH_ROUNDS (default
10: engine and raw rounds alternate, so both see the same machine load).

Raw loop, per event, one transaction:
  point_add:   SELECT customer FOR UPDATE; INSERT event; SELECT balance FOR UPDATE; INSERT lot;
               UPDATE balance + INSERT ledger entry (one statement); UPDATE customer
  point_spend: SELECT customer FOR UPDATE; INSERT event; SELECT balance FOR UPDATE;
               SELECT lots in spend order; UPDATE lot; UPDATE balance + INSERT ledger entry;
               UPDATE customer
Every lot holds 10 points and every spend takes 10, so a spend consumes exactly one lot in both.
"""

from __future__ import annotations

import multiprocessing
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


def _engine_events(ids, start: int, count: int) -> None:
    from events.engine import register_event

    for kind in ("point_add", "point_spend"):
        for i in range(start, start + count):
            register_event(environment="live", customer=ids[i % len(ids)], action=kind, data={"points": 10})


def _raw_events(conn, pks, start: int, count: int, account_id: int) -> None:
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
                    balance_set = "earned = earned + 10, spendable = spendable + 10"
                    customer_set = "score = score + 10, spendable = spendable + 10"
                else:
                    lot_id, remaining = conn.execute(SPEND_SQL, [pk, account_id]).fetchone()
                    conn.execute(
                        "UPDATE loyalty_pointlot SET used = used + 10, status = CASE WHEN %s = 10"
                        " THEN 'exhausted' ELSE 'active' END WHERE id = %s",
                        [remaining, lot_id],
                    )
                    entry = ("spend", -10, lot_id)
                    balance_set = "spent = spent + 10, spendable = spendable - 10"
                    customer_set = "spent = spent + 10, spendable = spendable - 10"
                # The balance update and the ledger entry in one statement, as the engine writes them.
                conn.execute(
                    f"WITH b AS (UPDATE loyalty_pointbalance SET {balance_set}, updated_at = now() WHERE id = %s)"
                    " INSERT INTO loyalty_ledgerentry (event_id, customer_id, account_id, lot_id, kind, amount,"
                    " spendable_after, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                    [
                        balance[0],
                        event_id,
                        pk,
                        account_id,
                        entry[2],
                        entry[0],
                        entry[1],
                        balance[1] + entry[1],
                    ],
                )
                conn.execute(
                    f"UPDATE customers_customer SET {customer_set}, last_activity_at = now(), updated_at = now()"
                    " WHERE id = %s",
                    [pk],
                )


def _worker(job: dict, barrier, results) -> None:
    """One worker process: its own connection and its own customers, started with the others."""
    sync = "on" if job["sync"] == "on" else "off"
    if job["kind"] == "engine":
        connections["default"].close()  # never share the parent's socket
        with connections["default"].cursor() as cursor:
            cursor.execute(f"SET synchronous_commit = {sync}")
        _engine_events(job["ids"], job["start"], 5)  # warm this connection's prepared statements
        run = lambda: _engine_events(job["ids"], job["start"], job["count"])  # noqa: E731
    else:
        conn = psycopg.connect(job["conninfo"])
        conn.execute(f"SET synchronous_commit = {sync}")
        conn.commit()
        run = lambda: _raw_events(conn, job["pks"], job["start"], job["count"], job["account_id"])  # noqa: E731
    barrier.wait()
    cpu, began = time.process_time(), time.perf_counter()
    run()
    results.put((began, time.perf_counter(), time.process_time() - cpu))


def _round(jobs: list[dict]) -> tuple[float, float]:
    """Run the jobs in parallel processes; (wall seconds from first start to last end, client CPU)."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(jobs)), context.Queue()
    connections.close_all()  # children open their own connections
    processes = [context.Process(target=_worker, args=(job, barrier, results)) for job in jobs]
    for process in processes:
        process.start()
    figures = [results.get(timeout=600) for _ in jobs]
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a benchmark worker failed with exit code {process.exitcode}")
    return max(end for _, end, _ in figures) - min(began for began, _, _ in figures), sum(
        c for *_, c in figures
    )


def _vacuum(name: str) -> None:
    """Autovacuum may be off (it is on this CI machine): give the planner statistics, as a
    production database with autovacuum has, so that both loops run on the same plans."""
    with psycopg.connect(_conninfo(name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _measure(name: str, customers: int, n: int, rounds: int, workers: int, account_id: int) -> dict:
    """Alternate engine and raw rounds, so both see the same machine load."""
    prefix = uuid.uuid4().hex[:8]
    engine_ids = [f"e{prefix}-{i}" for i in range(customers * workers)]
    raw_ids = [f"r{prefix}-{i}" for i in range(customers * workers)]
    _warm_up(engine_ids + raw_ids)
    with psycopg.connect(_conninfo(name)) as conn:
        found = dict(
            conn.execute(
                "SELECT customer_id, id FROM customers_customer WHERE customer_id = ANY(%s)", [raw_ids]
            ).fetchall()
        )
    raw_pks = [found[customer_id] for customer_id in raw_ids]
    _vacuum(name)
    sync = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off")
    per_worker = max(1, n // rounds // workers)
    totals = {"engine": 0.0, "raw": 0.0, "engine_cpu": 0.0, "raw_cpu": 0.0}
    for r in range(rounds):
        engine_jobs, raw_jobs = [], []
        for w in range(workers):
            mine = slice(w * customers, (w + 1) * customers)  # disjoint customers: no lock waits
            common = {"sync": sync, "start": r * per_worker, "count": per_worker}
            engine_jobs.append({**common, "kind": "engine", "ids": engine_ids[mine]})
            raw_jobs.append(
                {
                    **common,
                    "kind": "raw",
                    "pks": raw_pks[mine],
                    "account_id": account_id,
                    "conninfo": _conninfo(name),
                }
            )
        for kind, jobs in (("engine", engine_jobs), ("raw", raw_jobs)):
            seconds, cpu = _round(jobs)
            totals[kind] += seconds
            totals[f"{kind}_cpu"] += cpu
    totals["events"] = 2 * per_worker * workers * rounds
    return totals


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_engine: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False  # production mode: no query log kept per statement
    name = os.environ.get("BENCH_DB", "bench_loyalty")
    n = int(os.environ.get("BENCH_EVENTS", "2000"))
    customers = int(os.environ.get("BENCH_CUSTOMERS", "200"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "10"))
    worker_counts = [int(w) for w in os.environ.get("BENCH_WORKERS", f"1,{os.cpu_count() or 1}").split(",")]
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from loyalty.ledger.accounts import default_account

        account_id = default_account().pk
        figures = [
            (w, _measure(name, customers, n, rounds, w, account_id)) for w in dict.fromkeys(worker_counts)
        ]
    finally:
        _use_database(previous)
    sync = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off")
    print(f"synchronous_commit={sync}, {customers} customers per worker, {os.cpu_count()} cores, DEBUG off")
    for workers, f in figures:
        events = f["events"]
        engine_rate, raw_rate = events / f["engine"], events / f["raw"]
        print(
            f"{workers} worker(s): engine {events} events (point_add + point_spend) in {f['engine']:.2f}s"
            f" = {engine_rate:.0f} events/s; raw psycopg, same row writes: {f['raw']:.2f}s = {raw_rate:.0f} events/s"
        )
        print(
            f"  client CPU per event: engine {f['engine_cpu'] / events * 1000:.2f} ms,"
            f" raw {f['raw_cpu'] / events * 1000:.2f} ms;"
            f" ratio engine/raw time: {f['engine'] / f['raw']:.2f}x (target <= 2.5x, >= 500 events/s)"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
