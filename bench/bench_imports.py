"""Imports and exports: rows/s of a customer import (opt_in rows with 8 attributes) and an event
import (point_add rows) through the engine (dataio.running.run_partition: chunks through
events.batch.register_batch), each compared with a raw COPY of the same rows into the same tables
in the same run; then a customer export (CSV) in rows/s. Peak RSS of this process and of the
largest partition process are printed.

Each import runs with P partitions in P forked processes (multiprocessing, 'fork', after closing
Django's connections), each running the function the django-q2 task dataio.tasks.
run_import_partition runs, with its own database connection, as the cluster's workers do; once
per P in BENCH_IMPORT_PARTITIONS (default "1,2"), each P over its own new customers (the tables
grow from one P to the next: the later P imports into slightly larger tables).

PostgreSQL only (DATABASE_URL); its own database `bench_imports` (BENCH_DB), migrated on first
use. Knobs: BENCH_IMPORT_ROWS (default 5000), BENCH_IMPORT_MODELS (default "customers,events";
"customers" skips the event import), BENCH_SYNCHRONOUS_COMMIT (default off, as
bench_engine). The raw COPY writes what the import's rows end as: for customers the customer rows
and their opt_in events; for point_add the events, lots ledger entries and balance rows (COPY), and the customers' totals (one UPDATE), all counted in
the COPY time. BENCH_PROFILE=1 prints the top of a cProfile of each import run (CPU time;
BENCH_PROFILE=wall: wall time, so waits for the database show; slower); BENCH_SQL_TIMES=1
the statements that took the most time (COPY is timed with the statement that follows it).

Printed per model and P: rows/s (wall), CPU ms a row of the partition processes
(getrusage(RUSAGE_CHILDREN)) and of the PostgreSQL backends serving them (each process reads its
backend's /proc/<pid>/stat: the database runs on this machine; 0 when it cannot be read), and the
engine / raw COPY ratios of wall time and of total CPU (processes + backends). On a shared machine
the wall ratio moves with the load (both runs wait for a core); the CPU ratio does not. P
processes use at most P cores of the machine's: on 2 cores, P=2 can at best halve the wall time.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import resource
import time
import uuid

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.bench_engine import _conninfo, _ensure_database, _use_database


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend on this machine (0 when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Measure:
    """Wall time, CPU of this process and CPU of a PostgreSQL backend over a `with` block."""

    def __init__(self, backend_pid: int):
        self.pid = backend_pid

    def __enter__(self):
        self.wall, self.cpu, self.server = time.perf_counter(), time.process_time(), _backend_cpu(self.pid)
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.server = _backend_cpu(self.pid) - self.server


def _csv(header, rows) -> bytes:
    return ("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n").encode()


class _Run:
    """An import run over P worker processes: wall time, CPU of the processes (user + system,
    getrusage(RUSAGE_CHILDREN)) and of the PostgreSQL backends serving them (each process reads
    its own backend's /proc stat before it exits)."""

    def __init__(self, wall: float, cpu: float, server: float):
        self.wall, self.cpu, self.server = wall, cpu, server


def _partition_worker(pk: int, index: int, results) -> None:
    """One partition in a forked process, as the django-q2 task dataio.tasks.run_import_partition
    runs it (its own database connection); BENCH_PROFILE / BENCH_SQL_TIMES print per process."""
    from dataio import running

    sync = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off")
    with connection.cursor() as cursor:
        cursor.execute(f"SET synchronous_commit = {sync}")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    server = _backend_cpu(backend)
    mode = os.environ.get("BENCH_PROFILE")
    profile = cProfile.Profile(time.perf_counter if mode == "wall" else time.process_time) if mode else None
    timings: dict[str, list] = {}

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = timings.setdefault(" ".join(sql.split())[:90], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    if profile:
        profile.enable()
    with connection.execute_wrapper(timed) if os.environ.get("BENCH_SQL_TIMES") else contextlib.nullcontext():
        status = running.run_partition(pk, index)
    if profile:
        profile.disable()
    for sql, (count, seconds) in sorted(timings.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"  [partition {index}] {seconds:7.2f}s {count:6d}x {sql}")
    if profile:
        print(f"  [partition {index}] profile:")
        stats = pstats.Stats(profile).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime"))
        stats.print_stats(40)
        if os.environ.get("BENCH_PROFILE_CALLERS"):  # a regular expression of function names
            stats.print_callers(os.environ["BENCH_PROFILE_CALLERS"])
    results.put((index, status, _backend_cpu(backend) - server))
    connection.close()


def _import(model: str, content: bytes, partitions: int) -> tuple[_Run, float]:
    """Upload, validate (in this process) and run an import in `partitions` forked processes."""
    import multiprocessing

    from django.db import connections

    from dataio import running, wizard
    from dataio.models import DataImport

    data_import = wizard.upload(
        model=model,
        handle=io.BytesIO(content),
        file_name=f"{model}.csv",
        size=len(content),
        environment="live",
    )
    mapping = data_import.mapping
    DataImport.objects.filter(pk=data_import.pk).update(mapping=mapping, status="pending")
    started = time.perf_counter()
    running.validate(data_import.pk)
    validated = time.perf_counter() - started
    DataImport.objects.filter(pk=data_import.pk).update(status="processing")
    settings.DATAIO_IMPORT_PARTITIONS = partitions
    settings.DATAIO_SLICE_SECONDS = 1e9  # one task to the end (no continuation queued)
    data_import.refresh_from_db()
    assert running.open_partitions(data_import) == list(range(partitions)), data_import.partitions
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    connections.close_all()  # each process opens its own connection (as django-q2's workers do)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    workers = [
        context.Process(target=_partition_worker, args=(data_import.pk, index, results))
        for index in range(partitions)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reported = [results.get() for _ in range(sum(1 for w in workers if w.exitcode == 0))]
    assert len(reported) == partitions, [w.exitcode for w in workers]
    measure = _Run(wall, cpu, sum(server for _index, _status, server in reported))
    print(
        f"  {model}, {partitions} partition(s): run {measure.wall:.2f}s wall, {measure.cpu:.2f}s CPU of"
        f" the processes, {measure.server:.2f}s of their PostgreSQL backends"
    )
    data_import.refresh_from_db()
    assert data_import.status == "finished", (data_import.status, data_import.message)
    assert data_import.failed == 0, list(data_import.row_errors.values_list("message", flat=True)[:3])
    return measure, validated


def _copy_customers(conn, ids, now) -> _Measure:
    with _Measure(conn.info.backend_pid) as measure, conn.transaction():
        cur = conn.cursor()
        with cur.copy(
            "COPY customers_customer (environment, customer_id, status, first_name, last_name, nickname, email,"
            " gender, language, currency, phone, mobile_phone, image_url, handler, country, city, zip, address,"
            " custom, score, spent, spendable, pending, reserved, expired, purchase_total, purchase_count,"
            " purchase_items, created_at, updated_at, optin_at, last_activity_at, password) FROM STDIN"
        ) as copy:
            for i, cid in enumerate(ids):
                copy.write_row(
                    [
                        "live",
                        cid,
                        "active",
                        "Ann",
                        f"Raw{i}",
                        "",
                        f"{cid}@example.com",
                        "female",
                        "en",
                        "",
                        "+3612345",
                        "",
                        "",
                        "",
                        "DE",
                        "Berlin",
                        "",
                        "",
                        "{}",
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        now,
                        now,
                        now,
                        now,
                        "",
                    ]
                )
        pks = dict(
            cur.execute(
                "SELECT customer_id, id FROM customers_customer WHERE customer_id = ANY(%s)", [ids]
            ).fetchall()
        )
        with cur.copy(
            "COPY events_event (environment, customer_id, action, label, timestamp, effective_at, points, transaction_id,"
            " data, source, reason, user_agent) FROM STDIN"
        ) as copy:
            for cid in ids:
                copy.write_row(
                    [
                        "live",
                        pks[cid],
                        "opt_in",
                        "Opt-in",
                        now,
                        now,
                        0,
                        "",
                        '{"first_name": "Ann"}',
                        "import",
                        "raw",
                        "",
                    ]
                )
    return measure


def _copy_points(conn, ids, account_id, now) -> _Measure:
    with _Measure(conn.info.backend_pid) as measure, conn.transaction():
        cur = conn.cursor()
        pks = [
            pk
            for (pk,) in cur.execute(
                "SELECT id FROM customers_customer WHERE customer_id = ANY(%s) ORDER BY id", [ids]
            ).fetchall()
        ]
        with cur.copy(
            "COPY events_event (environment, customer_id, action, label, timestamp, effective_at, points, account_id,"
            " transaction_id, data, source, reason, user_agent) FROM STDIN"
        ) as copy:
            for pk in pks:
                copy.write_row(
                    [
                        "live",
                        pk,
                        "point_add",
                        "Add points",
                        now,
                        now,
                        10,
                        account_id,
                        "",
                        '{"points": 10}',
                        "import",
                        "raw",
                        "",
                    ]
                )
        events = cur.execute(
            "SELECT id, customer_id FROM events_event WHERE reason = 'raw' AND action = 'point_add' AND customer_id = ANY(%s)",
            [pks],
        ).fetchall()
        with cur.copy(
            "COPY loyalty_pointlot (customer_id, account_id, event_id, points, used, expired_points, reserved, status,"
            " created_at) FROM STDIN"
        ) as copy:
            for event_id, pk in events:
                copy.write_row([pk, account_id, event_id, 10, 0, 0, 0, "active", now])
        lots = cur.execute(
            "SELECT id, event_id, customer_id FROM loyalty_pointlot WHERE event_id = ANY(%s)",
            [[e for e, _ in events]],
        ).fetchall()
        with cur.copy(
            "COPY loyalty_ledgerentry (event_id, customer_id, account_id, lot_id, kind, amount, spendable_after, created_at) FROM STDIN"
        ) as copy:
            for lot_id, event_id, pk in lots:
                copy.write_row([event_id, pk, account_id, lot_id, "earn", 10, 10, now])
        with cur.copy(
            "COPY loyalty_pointbalance (customer_id, account_id, earned, spent, spendable, pending, reserved,"
            " expired, updated_at) FROM STDIN"
        ) as copy:
            for pk in pks:
                copy.write_row([pk, account_id, 10, 0, 10, 0, 0, 0, now])
        cur.execute(
            "UPDATE customers_customer SET score = score + 10, spendable = spendable + 10,"
            " last_activity_at = %s, updated_at = %s WHERE id = ANY(%s)",
            [now, now, pks],
        )
    return measure


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_imports: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench-media"
    name = os.environ.get("BENCH_DB", "bench_imports")
    n = int(os.environ.get("BENCH_IMPORT_ROWS", "5000"))
    sync = os.environ.get("BENCH_SYNCHRONOUS_COMMIT", "off")
    models = os.environ.get("BENCH_IMPORT_MODELS", "customers,events").split(",")
    partitions = [int(p) for p in os.environ.get("BENCH_IMPORT_PARTITIONS", "1,2").split(",") if p.strip()]
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from django.utils import timezone

        from dataio import exports
        from dataio.models import DataExport
        from loyalty.ledger.accounts import default_account

        account_id = default_account().pk
        with connection.cursor() as cursor:
            cursor.execute(f"SET synchronous_commit = {sync}")
        run_id = uuid.uuid4().hex[:8]
        raw_ids = [f"raw-{run_id}-{i}" for i in range(n)]
        header = [
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "gender",
            "country",
            "city",
            "language",
            "phone",
        ]
        measured = []  # (label, partitions, engine run, validation seconds, raw COPY)
        with psycopg.connect(_conninfo(name)) as conn:
            conn.execute(f"SET synchronous_commit = {sync}")
            conn.commit()
            now = timezone.now()
            raw_customer = raw_point = None
            for count in partitions:
                engine_ids = [f"imp-{run_id}-p{count}-{i}" for i in range(n)]
                customers = _csv(
                    header,
                    [
                        [c, "Ann", f"Imp{i}", f"{c}@example.com", "female", "DE", "Berlin", "en", "+3612345"]
                        for i, c in enumerate(engine_ids)
                    ],
                )
                customer, customer_validate = _import("customers", customers, count)
                if raw_customer is None:
                    raw_customer = _copy_customers(conn, raw_ids, now)
                measured.append(
                    (
                        "customer import (opt_in, 8 attributes)",
                        count,
                        customer,
                        customer_validate,
                        raw_customer,
                    )
                )
                if "events" in models:
                    points = _csv(
                        ["customer", "action", "points"], [[c, "point_add", "10"] for c in engine_ids]
                    )
                    point, point_validate = _import("events", points, count)
                    if raw_point is None:
                        raw_point = _copy_points(conn, raw_ids, account_id, now)
                    measured.append(("event import (point_add)", count, point, point_validate, raw_point))
        total = _count_customers()
        export = DataExport.objects.create(
            model="customers", environment="live", params={}, created_at=timezone.now()
        )
        started = time.perf_counter()
        exports.run(export.pk)
        export_time = time.perf_counter() - started
        export.refresh_from_db()
    finally:
        _use_database(previous)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chunk = getattr(settings, "DATAIO_CHUNK_ROWS", None)
    print(
        f"synchronous_commit={sync}, {n} rows per import, DATAIO_CHUNK_ROWS={chunk}, {os.cpu_count()} cores,"
        f" DEBUG off, partitions {','.join(map(str, partitions))} (one forked process each); load average"
        f" {' / '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for label, count, engine, validate, raw in measured:
        engine_total, raw_total = engine.cpu + engine.server, raw.cpu + raw.server
        print(
            f"{label}, P={count}: engine {n / engine.wall:,.0f} rows/s ({engine.wall:.2f}s; CPU/row"
            f" {1000 * engine.cpu / n:.3f} ms processes + {1000 * engine.server / n:.3f} ms backends;"
            f" validation pass {n / validate:,.0f} rows/s) | raw COPY {n / raw.wall:,.0f} rows/s"
            f" ({raw.wall:.2f}s; CPU/row {1000 * raw.cpu / n:.3f} ms process + {1000 * raw.server / n:.3f} ms"
            f" backend) | engine/COPY: wall {engine.wall / raw.wall:.1f}x, CPU"
            f" {engine_total / raw_total if raw_total else float('nan'):.1f}x"
            f" (target >= 5,000 rows/s, <= 4x)"
        )
    print(
        f"customer export (CSV, default columns): {export.rows:,} rows of {total:,} customers in {export_time:.2f}s"
        f" = {export.rows / export_time:,.0f} rows/s, {export.size:,} bytes (target >= 50,000 rows/s)"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak RSS of this process: {rss:,.0f} MB, of the largest partition process: {children:,.0f} MB;"
        f" load average {os.getloadavg()[0]:.1f}"
    )


def _count_customers() -> int:
    from customers.models import Customer

    return Customer.objects.count()
