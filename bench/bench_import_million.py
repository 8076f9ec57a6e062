"""A 1,000,000-row customer import at constant memory: the worker's RSS (target: peak <= 300 MB,
and flat: it does not grow with the rows processed).

Skipped unless BENCH_IMPORT_MILLION is set (the number of rows; "1" means 1,000,000). PostgreSQL
only; its own database (BENCH_DB, default bench_imports; it migrates it). Writes a CSV of that
many opt_in rows with 8 attributes to a temporary file, uploads it, and then, in this process as
the django-q2 worker would:

1. the validation pass (`running.validate`) over the whole file: every row read, mapped, checked
   and fed to the duplicate guard, nothing stored;
2. the run's head: `running.run_partition` (one partition: the memory of one worker is measured)
   applies the first BENCH_IMPORT_RUN_ROWS rows (default 20,000; chunks of DATAIO_CHUNK_ROWS) and
   stops;
3. the run's tail: the checkpoint is moved to BENCH_IMPORT_RUN_ROWS before the end (as a resumed
   run finds it), so the run reads and prepares every skipped row (the guard holds the whole file
   again) and applies the last BENCH_IMPORT_RUN_ROWS rows.

So every row passes through the memory-holding parts twice and the chunk machinery runs at both
ends of the file, in minutes instead of the hours a full run takes on a loaded 2-core machine.
BENCH_IMPORT_FULL=1 instead applies every row in one run (phases 1 and a full run).
BENCH_GUARD_MEMORY_KEYS sets DATAIO_GUARD_MEMORY_KEYS (10**9: the duplicate guard all in a dict,
as it was before it spilled to disk, for comparison).

Printed every BENCH_IMPORT_REPORT rows (default 100,000) and at each phase's end: rows, this
process's RSS (VmRSS) and its peak so far (VmHWM), CPU seconds, load average; at the end the
growth of RSS from the first checkpoint to the last, and the peak.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

from django.conf import settings
from django.core.management import call_command

from bench.bench_engine import _ensure_database, _use_database


def _status(name: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Meter:
    """RSS checkpoints: every `every` rows prepared (validation and run) and at phase ends."""

    def __init__(self, every: int):
        self.every, self.count, self.samples = every, 0, []
        self.cpu = time.process_time()

    def sample(self, label: str) -> None:
        rss, peak = _status("VmRSS"), _status("VmHWM")
        self.samples.append((label, rss))
        print(
            f"  {label:<34} RSS {rss:6.0f} MB  peak {peak:6.0f} MB  CPU {time.process_time() - self.cpu:7.1f} s"
            f"  load {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    def wrap_prepare(self, running, phase: str):
        original = running._prepare

        def counted(*args):
            self.count += 1
            if self.count % self.every == 0:
                self.sample(f"{phase}: {self.count:,} rows read")
            return original(*args)

        running._prepare = counted
        return original


def _file(rows: int, handle) -> int:
    run_id = uuid.uuid4().hex[:8]
    handle.write(b"customer_id,first_name,last_name,email,gender,country,city,language,phone\n")
    for i in range(rows):
        cid = f"m-{run_id}-{i}"
        handle.write(f"{cid},Ann,M{i},{cid}@example.com,female,DE,Berlin,en,+3612345\n".encode())
    return handle.tell()


def run() -> None:
    rows = int(os.environ.get("BENCH_IMPORT_MILLION") or 0)
    if not rows:
        print("bench_import_million: set BENCH_IMPORT_MILLION=1000000 to run; skipped")
        return
    rows = 1_000_000 if rows == 1 else rows
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_import_million: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench-media"
    settings.DATAIO_SLICE_SECONDS = 10**9  # one run to the end (the worker re-queues otherwise)
    every = int(os.environ.get("BENCH_IMPORT_REPORT", "100000"))
    window = min(int(os.environ.get("BENCH_IMPORT_RUN_ROWS", "20000")), rows)
    full = os.environ.get("BENCH_IMPORT_FULL") == "1"
    if os.environ.get("BENCH_GUARD_MEMORY_KEYS"):  # e.g. 10**9: the whole guard in a dict, as before
        settings.DATAIO_GUARD_MEMORY_KEYS = int(os.environ["BENCH_GUARD_MEMORY_KEYS"])
    name = os.environ.get("BENCH_DB", "bench_imports")
    _ensure_database(name)
    previous = _use_database(name)
    meter = _Meter(every)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from dataio import digests, running, wizard
        from dataio.models import DataImport, ImportPartition

        with tempfile.TemporaryFile() as handle:
            size = _file(rows, handle)
            handle.seek(0)
            data_import = wizard.upload(
                model="customers", handle=handle, file_name="million.csv", size=size, environment="live"
            )
        print(
            f"{rows:,} rows ({size / 1e6:.0f} MB CSV), chunks of {running.chunk_rows():,} rows, guard"
            f" {digests.memory_keys():,} keys in memory,"
            f" {'every row applied' if full else f'{window:,} rows applied at the head and at the tail'}"
        )
        meter.sample("uploaded")

        started = time.perf_counter()
        DataImport.objects.filter(pk=data_import.pk).update(status="pending", mapping=data_import.mapping)
        original_prepare = meter.wrap_prepare(running, "validation")
        try:
            running.validate(data_import.pk)
        finally:
            running._prepare = original_prepare
        data_import.refresh_from_db()
        assert data_import.status == "validated", (data_import.status, data_import.message)
        validation = time.perf_counter() - started
        meter.sample(f"validated ({data_import.total_rows:,} rows)")

        def apply(phase: str, stop_at: int | None) -> float:
            """One run from the current checkpoint; stops once `stop_at` rows are done."""
            original_apply = running._apply_chunk

            def applying(data_import, part, importer, chunk, position, reason):
                done = original_apply(data_import, part, importer, chunk, position, reason)
                if position // every != (position - len(chunk)) // every:
                    meter.sample(f"{phase}: {position:,} rows done")
                return done and (stop_at is None or position < stop_at)

            meter.count = 0
            original_prepare = meter.wrap_prepare(running, f"{phase} (reading)")
            running._apply_chunk = applying
            began = time.perf_counter()
            try:
                running.run_partition(data_import.pk, 0)
            finally:
                running._apply_chunk, running._prepare = original_apply, original_prepare
            return time.perf_counter() - began

        DataImport.objects.filter(pk=data_import.pk).update(status="processing")
        settings.DATAIO_IMPORT_PARTITIONS = 1
        running.open_partitions(DataImport.objects.get(pk=data_import.pk))
        head = apply("run", None if full else window)
        data_import.refresh_from_db()
        meter.sample(f"run: stopped at {data_import.rows_done:,} rows")
        applied = data_import.rows_done
        tail = 0.0
        if not full and rows > window:
            DataImport.objects.filter(pk=data_import.pk).update(status="processing", rows_done=rows - window)
            ImportPartition.objects.filter(data_import=data_import).update(rows_done=rows - window)
            tail = apply("tail run", None)
            data_import.refresh_from_db()
            meter.sample(f"tail run: ended at {data_import.rows_done:,} rows")
            applied += window
        failed = data_import.failed
    finally:
        _use_database(previous)
    first, last = meter.samples[1][1], meter.samples[-1][1]
    middle = [rss for label, rss in meter.samples if "validation" in label]
    print(
        f"validation pass {rows:,} rows in {validation:,.0f} s = {rows / validation:,.0f} rows/s;"
        f" rows applied {applied:,} ({failed:,} failed) in {head + tail:,.0f} s ="
        f" {applied / max(head + tail, 0.001):,.0f} rows/s (the tail run includes reading the skipped rows)"
    )
    if len(middle) >= 2:
        print(
            f"RSS during validation: {middle[0]:.0f} MB at {every:,} rows -> {middle[-1]:.0f} MB at"
            f" {every * len(middle):,} rows ({(middle[-1] - middle[0]) * 1024 * 1024 / (every * (len(middle) - 1)):.1f}"
            " bytes a row)"
        )
    print(
        f"RSS first checkpoint {first:.0f} MB, last {last:.0f} MB; peak (VmHWM) {_status('VmHWM'):.0f} MB"
        f" (target <= 300 MB); load average {os.getloadavg()[0]:.1f}"
    )
