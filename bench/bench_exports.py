"""Customer export: rows/s of the export (dataio.exports.run, CSV, the default columns) over the
whole customer table of the current database, against a raw `COPY (SELECT the same columns) TO
STDOUT (FORMAT csv)` into a file, measured in the same run (rounds alternate, so both see the
same machine load). Then XLSX and JSON writer rates on the first BENCH_EXPORT_SAMPLE rows.

PostgreSQL only. It reads the database in DATABASE_URL as it is (run it against the 1M-customer
database: `DATABASE_URL=postgres://.../bench1m python -m bench bench_exports`); it never migrates
and writes only the export's own rows (a DataExport and its Job) and a temporary file.
Knobs: BENCH_EXPORT_ROUNDS (default 2), BENCH_EXPORT_SAMPLE (default 50,000 rows),
BENCH_EXPORT_FORMATS (default "xlsx,json"), BENCH_EXPORT_CHUNK (rows per chunk; default the
setting's 10,000), BENCH_EXPORT_FIELDS (comma-separated columns; default the default columns —
the raw COPY always selects the default columns), BENCH_EXPORT_PYTHON (default 1: each round also
runs the export through the Python writer, DATAIO_EXPORT_COPY off, for the ratio).

Printed: rows, wall seconds, rows/s, CPU seconds of this process (time.process_time) and of the
PostgreSQL backend serving it (/proc/<pid>/stat; the COPY's work is all the backend's), so the
CPU ratio holds however loaded the machine is, the ratio of the export's time to the COPY's, the peak RSS growth during
the export (sampled from /proc/self/status every 0.2 s: constant memory means it does not grow
with the row count), and the load average.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time

import psycopg
from django.conf import settings
from django.db import connection

from bench.bench_engine import _conninfo

COPY_SQL = """
COPY (
  SELECT c.customer_id, c.status, c.email, c.first_name, c.last_name, c.score, c.spendable,
         t.name,
         (SELECT string_agg(l.name, ',' ORDER BY l.name) FROM customers_customer_labels cl
            JOIN customers_label l ON l.id = cl.label_id WHERE cl.customer_id = c.id),
         to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  FROM customers_customer c LEFT JOIN loyalty_tier t ON t.id = c.tier_id
  WHERE c.environment = 'live' AND c.status <> 'inactive' AND c.anonymized_at IS NULL
  ORDER BY c.id
) TO STDOUT (FORMAT csv, HEADER)
"""


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Sampler:
    """The highest RSS seen while the block runs."""

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend process on this machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _copy(name: str) -> tuple[float, int, int, float]:
    with psycopg.connect(_conninfo(name)) as conn, tempfile.TemporaryFile() as out:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        server = _backend_cpu(pid)
        started = time.perf_counter()
        with conn.cursor().copy(COPY_SQL) as copy:
            for block in copy:
                out.write(block)
        elapsed = time.perf_counter() - started
        server = _backend_cpu(pid) - server
        size = out.tell()
        out.seek(0)
        lines = sum(block.count(b"\n") for block in iter(lambda: out.read(1 << 20), b""))
    return elapsed, lines - 1, size, server


def _fields() -> dict:
    fields = [f for f in os.environ.get("BENCH_EXPORT_FIELDS", "").split(",") if f]
    return {"fields": fields} if fields else {}


def _export(fmt: str = "csv", copy: bool = True) -> tuple[float, float, int, int, float, float]:
    from django.utils import timezone

    from dataio import exports
    from dataio.models import DataExport

    settings.DATAIO_EXPORT_COPY = copy
    export = DataExport.objects.create(
        model="customers", environment="live", format=fmt, params=_fields(), created_at=timezone.now()
    )
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    server = _backend_cpu(pid)
    with _Sampler() as rss:
        cpu, started = time.process_time(), time.perf_counter()
        exports.run(export.pk)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = _backend_cpu(pid) - server
    export.refresh_from_db()
    assert export.status == "finished", export.message
    size = export.size
    export.file.delete(save=False)
    return elapsed, cpu, export.rows, size, rss.peak - rss.start, server


def _sample(fmt: str, rows: int) -> tuple[float, float, int]:
    """The first `rows` rows of the default customer export through the writer of `fmt`."""
    from dataio import exports, formats
    from dataio.models import DataExport

    export = DataExport(model="customers", environment="live", format=fmt, params=_fields())
    settings.DATAIO_EXPORT_COPY = False  # the Python writer for CSV too: the formats compared alike
    cpu, started = time.process_time(), time.perf_counter()
    columns, chunks = exports.customer_rows(export)
    written = 0
    with tempfile.TemporaryFile() as handle:
        writer = formats.Writer(handle, fmt, columns)
        for chunk in chunks:
            writer.write_rows(chunk[: rows - written])
            written = writer.rows
            if written >= rows:
                break
        writer.close()
    return time.perf_counter() - started, time.process_time() - cpu, written


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_exports: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    media = tempfile.TemporaryDirectory(prefix="bench-exports-")
    settings.MEDIA_ROOT = media.name
    name = connection.settings_dict["NAME"]
    rounds = int(os.environ.get("BENCH_EXPORT_ROUNDS", "2"))
    if os.environ.get("BENCH_EXPORT_CHUNK"):
        settings.DATAIO_EXPORT_CHUNK_ROWS = int(os.environ["BENCH_EXPORT_CHUNK"])
    sample = int(os.environ.get("BENCH_EXPORT_SAMPLE", "50000"))
    load = os.getloadavg()
    python = os.environ.get("BENCH_EXPORT_PYTHON", "1") == "1"
    copies, engines, pythons = [], [], []
    for _ in range(rounds):
        copies.append(_copy(name))
        engines.append(_export())
        if python:
            pythons.append(_export(copy=False))
    from dataio.exports import chunk_rows

    chunk = chunk_rows()
    print(
        f"database {name}, {os.cpu_count()} cores, {chunk} rows per chunk,"
        f" load average {load[0]:.1f} / {load[1]:.1f} at start"
    )
    for (c_time, c_rows, c_size, c_server), (e_time, e_cpu, e_rows, e_size, rss, e_server) in zip(
        copies, engines, strict=True
    ):
        print(
            f"  round: export {e_rows:,} rows {e_time:.1f} s = {e_rows / e_time:,.0f} rows/s "
            f"(CPU: this process {e_cpu:.1f} s + its PostgreSQL backend {e_server:.1f} s ="
            f" {e_rows / (e_cpu + e_server):,.0f} rows per CPU-s; {e_size / 1e6:.0f} MB, RSS +{rss:.0f} MB)"
            f" | raw COPY {c_rows:,} rows {c_time:.1f} s = {c_rows / c_time:,.0f} rows/s (backend CPU"
            f" {c_server:.1f} s = {c_rows / max(c_server, 0.01):,.0f} rows per CPU-s; {c_size / 1e6:.0f} MB)"
            f" | ratio: time {e_time / c_time:.2f}x, CPU {(e_cpu + e_server) / max(c_server, 0.01):.2f}x"
        )
    for e_time, e_cpu, e_rows, e_size, rss, e_server in pythons:
        print(
            f"  round, Python writer (DATAIO_EXPORT_COPY off, as before): {e_rows:,} rows {e_time:.1f} s ="
            f" {e_rows / e_time:,.0f} rows/s (CPU: this process {e_cpu:.1f} s + backend {e_server:.1f} s ="
            f" {e_rows / (e_cpu + e_server):,.0f} rows per CPU-s; {e_size / 1e6:.0f} MB, RSS +{rss:.0f} MB)"
        )
    if pythons:
        p_med = statistics.median(p[0] for p in pythons)
        print(
            f"COPY-written export / Python-written export: time {statistics.median(e[0] for e in engines) / p_med:.2f}x,"
            f" CPU {sum(e[1] + e[5] for e in engines) / sum(p[1] + p[5] for p in pythons):.2f}x"
        )
    e_med = statistics.median(e[0] for e in engines)
    c_med = statistics.median(c[0] for c in copies)
    rows = engines[0][2]
    print(
        f"customer export (CSV, default columns): {rows / e_med:,.0f} rows/s; raw COPY {copies[0][1] / c_med:,.0f} rows/s;"
        f" export/COPY time ratio {e_med / c_med:.2f}x (medians of {rounds} rounds)"
    )
    for fmt in [f for f in os.environ.get("BENCH_EXPORT_FORMATS", "xlsx,json").split(",") if f]:
        base = _sample("csv", sample)
        other = _sample(fmt, sample)
        print(
            f"  {fmt} writer, first {other[2]:,} rows: {other[2] / other[0]:,.0f} rows/s (CPU {other[1]:.1f} s);"
            f" CSV on the same rows {base[2] / base[0]:,.0f} rows/s; ratio {other[0] / base[0]:.1f}x"
        )
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} / {load[1]:.1f}; peak RSS {_rss_mb():.0f} MB now")
    media.cleanup()
