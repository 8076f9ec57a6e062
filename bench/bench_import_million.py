"""A 1,000,000-row customer import at constant memory: the worker's peak RSS (target <= 300 MB).

Skipped unless BENCH_IMPORT_MILLION is set (it takes long on a shared machine). Writes a CSV of
BENCH_IMPORT_MILLION rows (default 1,000,000; opt_in rows with 8 attributes) to a temporary file,
uploads it, and runs the import in this process as the django-q2 worker would
(dataio.running.run, chunks of DATAIO_CHUNK_ROWS), printing rows done, rows/s and this process's
RSS every BENCH_IMPORT_REPORT rows (default 50,000) and its peak at the end. Its own database
(BENCH_DB, default bench_imports), PostgreSQL only.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import uuid

from django.conf import settings
from django.core.management import call_command

from bench.bench_engine import _ensure_database, _use_database


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run() -> None:
    rows = int(os.environ.get("BENCH_IMPORT_MILLION") or 0)
    if not rows:
        print("bench_import_million: set BENCH_IMPORT_MILLION=1000000 to run; skipped")
        return
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_import_million: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench-media"
    settings.DATAIO_SLICE_SECONDS = 10**9  # one run to the end (the worker re-queues otherwise)
    every = int(os.environ.get("BENCH_IMPORT_REPORT", "50000"))
    name = os.environ.get("BENCH_DB", "bench_imports")
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from dataio import running, wizard
        from dataio.models import DataImport

        run_id = uuid.uuid4().hex[:8]
        with tempfile.TemporaryFile() as handle:
            handle.write(b"customer_id,first_name,last_name,email,gender,country,city,language,phone\n")
            for i in range(rows):
                cid = f"m-{run_id}-{i}"
                handle.write(f"{cid},Ann,M{i},{cid}@example.com,female,DE,Berlin,en,+3612345\n".encode())
            size = handle.tell()
            handle.seek(0)
            data_import = wizard.upload(
                model="customers", handle=handle, file_name="million.csv", size=size, environment="live"
            )
        DataImport.objects.filter(pk=data_import.pk).update(
            status="processing", total_rows=rows, mapping=data_import.mapping
        )
        print(f"{rows:,} rows ({size / 1e6:.0f} MB CSV); RSS before the run {_rss_mb():.0f} MB")
        started, cpu = time.perf_counter(), time.process_time()
        original = running._apply_chunk

        def reporting(data_import, importer, chunk, position, reason):
            done = original(data_import, importer, chunk, position, reason)
            if position // every != (position - len(chunk)) // every:
                elapsed = time.perf_counter() - started
                print(
                    f"  {position:>9,} rows  {position / elapsed:6,.0f} rows/s  RSS {_rss_mb():5.0f} MB"
                    f"  CPU {time.process_time() - cpu:7.1f}s  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            return done

        running._apply_chunk = reporting
        try:
            status = running.run(data_import.pk)
        finally:
            running._apply_chunk = original
        elapsed = time.perf_counter() - started
        data_import.refresh_from_db()
    finally:
        _use_database(previous)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"status {status}: {data_import.rows_done:,} rows ({data_import.created:,} created,"
        f" {data_import.failed:,} failed) in {elapsed:,.0f}s = {data_import.rows_done / elapsed:,.0f} rows/s;"
        f" CPU {time.process_time() - cpu:,.0f}s; peak RSS {peak:,.0f} MB (target <= 300 MB);"
        f" load average {os.getloadavg()[0]:.1f}"
    )
