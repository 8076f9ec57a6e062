"""Running an import: the validation pass and the chunked, resumable, partitioned run.

upload (views/API) -> DataImport uploaded; mapping saved -> pending
validate(pk)  status validating: every row through the importer's `prepare` (no writes), the
              counts and the first errors kept in `preview` (with `external_refs`: rows naming
              their customer as `field:value`); -> validated (cancellable so far)
run(pk)       the task dataio.tasks.run_import, status processing. The first start decides the
              run's partitions P and stores it on the import (`partitions`; a resume keeps it):
              `partition_count`, DATAIO_IMPORT_PARTITIONS or the django-q2 cluster's workers for
              customer and event imports on PostgreSQL, else 1 (SQLite has one writer; the other
              models, and files whose row order across customers matters, run as one). It creates
              the ImportPartition rows (idempotent) and queues run_partition(pk, i) for each one
              not finished.
run_partition(pk, i)   the task dataio.tasks.run_import_partition: reads the file in order and
              takes the rows of partition i — `partition_of`: CRC-32 of the customer reference
              mod P, computed from the mapped values before `prepare`, so the other partitions'
              rows cost only their reading; rows with no usable reference go to partition 0 —
              so every row of one customer is in one partition, in file order, and the
              duplicate guard (which compares rows of the same customer only) sees them all. The
              partition's first `rows_done` rows are skipped (after `prepare`: they feed the
              guard), then DATAIO_CHUNK_ROWS at a time are applied. Each chunk is one transaction
              holding the partition row's lock: the chunk's events, its row errors and the
              partition's new checkpoint commit together or not at all, with the chunk's counts
              added to the import row at the very end (one UPDATE ... SET x = x + n, only while
              the import is processing: a chunk never commits after a cancel or a failure). So a
              worker killed at any point (kill -9) leaves each partition's last committed chunk
              as its checkpoint, and the next run of that partition starts right after it: no
              row applied twice, none skipped. Two workers running the same partition cannot
              both apply a chunk: the second finds the checkpoint moved under the lock and
              stops. A partition works for DATAIO_SLICE_SECONDS, then queues its own continuation
              (a django-q2 task has a timeout). At its end it sets its `finished_at`; the caller
              that finds every partition finished, under the import row's lock, writes the
              error file (failed rows in row order) and sets finished or finished_with_errors —
              exactly once. A fault in a partition fails the whole import (the others stop at
              their next chunk); `resume` queues run(pk) again, which restarts every unfinished
              partition from its own checkpoint.
DataImport.rows_done is the sum of the partitions' checkpoints (progress, not a checkpoint).
With P = 1 (always on SQLite) this is the plain sequential run: one partition, every row.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
import zlib
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django_q.tasks import async_task

from customers.fields import external_id_fields
from customers.models import Customer
from loyalty import clock

from . import formats, jobs
from .choices import IMPORT_CANCELLABLE, ImportModel, ImportStatus, JobKind, JobStatus
from .importers import Row, RowError, importer_for
from .models import DataImport, ImportPartition, ImportRowError

log = logging.getLogger("loyalty.dataio")
PREVIEW_ERRORS = 20
# Rows per chunk (one transaction with its checkpoint). Each chunk costs a dozen statements and a
# progress update whatever its size; 2,000 rows make that a few percent of the chunk's time
# (bench/bench_imports.py) while a chunk still commits in well under a second.
CHUNK_ROWS = 2000


def chunk_rows() -> int:
    return int(getattr(settings, "DATAIO_CHUNK_ROWS", CHUNK_ROWS))


def slice_seconds() -> float:
    return float(getattr(settings, "DATAIO_SLICE_SECONDS", 240))


def job_key(data_import: DataImport) -> str:
    return f"import:{data_import.pk}"


def track(data_import: DataImport, status: str | None = None, **fields):
    """The import's row on the Jobs page."""
    job_status = {
        ImportStatus.PROCESSING: JobStatus.PROCESSING,
        ImportStatus.VALIDATING: JobStatus.PROCESSING,
        ImportStatus.FINISHED: JobStatus.FINISHED,
        ImportStatus.FINISHED_WITH_ERRORS: JobStatus.FINISHED_WITH_ERRORS,
        ImportStatus.FAILED: JobStatus.FAILED,
        ImportStatus.CANCELLED: JobStatus.CANCELLED,
    }.get(status or data_import.status, JobStatus.PENDING)
    return jobs.track(
        JobKind.IMPORT,
        job_key(data_import),
        label=f"Import {data_import.pk}: {data_import.get_model_display()} from {data_import.file_name}",
        status=job_status,
        environment=data_import.environment,
        total=data_import.total_rows,
        done=data_import.rows_done - data_import.failed if data_import.rows_done else 0,
        failed=data_import.failed,
        url=f"/imports/{data_import.pk}/",
        cancellable=(status or data_import.status) in IMPORT_CANCELLABLE,
        user=data_import.created_by,
        **fields,
    )


def iter_mapped(data_import: DataImport, partition: tuple[str, int, int] | None = None):
    """(row number, {column: value}, {field: value}, RowError or None) for every data row, or
    with `partition` = (key field, P, index) for the rows of that partition only (`partition_of`):
    a row of another partition is dropped from its key cell alone when it can be, before its
    dicts are built."""
    mapping = data_import.mapping
    field, count, index = partition if partition and partition[1] > 1 else ("", 1, 0)
    with data_import.file.open("rb") as handle:
        rows = formats.open_rows(handle, data_import.format, data_import.delimiter, data_import.encoding)
        number = 1
        try:
            header = next(iter(rows))
            columns = [str(c).strip() for c in header]
            # (cell index, field) of the mapped columns, when no column name repeats (then a row's
            # values are read from its cells directly; a repeated name keeps its last cell, below)
            mapped = (
                [(i, mapping[c]) for i, c in enumerate(columns) if mapping.get(c)]
                if len(set(columns)) == len(columns)
                else None
            )
            # the key's cell, when a row of another partition can be dropped from it alone
            key_cell = next((i for i, target in mapped or () if target == field), None) if field else None
            for number, cells in enumerate(rows, start=2):
                if cells is None:
                    if index == 0:
                        yield number, {}, None, RowError("not_an_object", "The row is not a JSON object.")
                    continue
                extra = cells.pop() if data_import.format == "json" else None
                if not any(str(c).strip() for c in cells) and not extra:
                    continue  # blank lines are not rows
                if key_cell is not None and not extra and len(cells) == len(columns):
                    if partition_of_key(cells[key_cell], count) != index:
                        continue
                    keep = None  # this partition's: no second look
                else:
                    keep = count > 1
                raw = dict(zip(columns, cells, strict=False))
                problem = None
                if len(cells) != len(columns):
                    problem = RowError(
                        "column_count",
                        f"The row has {len(cells)} cells; the header has {len(columns)} (is the delimiter right?).",
                    )
                if extra:
                    problem = RowError("unknown_column", f"Unknown keys: {', '.join(map(str, extra))[:200]}.")
                    raw.update(extra)
                if mapped is not None and not extra:
                    values = {}
                    width = len(cells)
                    for cell, target in mapped:
                        if cell < width:
                            value = cells[cell]
                            if value is not None and value != "":
                                values[target] = value.strip() if isinstance(value, str) else value
                else:
                    values = {}
                    for column, value in raw.items():
                        target = mapping.get(column, "")
                        if target and value not in (None, ""):
                            values[target] = value.strip() if isinstance(value, str) else value
                if keep and partition_of(values, problem, field, count) != index:
                    continue
                yield number, raw, values, problem
        except csv.Error as error:
            raise formats.FileProblem(f"Row {number + 1}: {error}.") from None


def _prepare(importer, number, raw, values, problem) -> Row:
    row = Row(number=number, raw=raw, values=values or {})
    try:
        if problem is not None:
            raise problem
        importer.prepare(row)
    except RowError as error:
        row.outcome, row.error = "failed", error
    return row


def validate(pk: int) -> None:
    """The preload: read and check every row without storing anything."""
    claimed = DataImport.objects.filter(pk=pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.VALIDATING
    )
    if not claimed:
        return
    data_import = DataImport.objects.get(pk=pk)
    track(data_import, ImportStatus.VALIDATING)
    importer = importer_for(data_import)
    total = errors = external_refs = 0
    field = importer.partition_field
    first_errors, first_rows = [], []
    try:
        for number, raw, values, problem in iter_mapped(data_import):
            total += 1
            if field and values and ":" in str(values.get(field, "")):
                external_refs += 1  # a customer named by an external ID: the run keeps file order
            row = _prepare(importer, number, raw, values, problem)
            if row.error is not None:
                errors += 1
                if len(first_errors) < PREVIEW_ERRORS:
                    first_errors.append(_error_dict(row, data_import))
            elif len(first_rows) < 5:
                first_rows.append({"row": number, "values": {k: str(v) for k, v in row.values.items()}})
            if (
                total % 10_000 == 0
                and DataImport.objects.filter(pk=pk, status=ImportStatus.CANCELLED).exists()
            ):
                return
    except formats.FileProblem as problem:
        _fail(data_import, problem.message)
        return
    except Exception as error:  # a damaged file found mid-way: the import says so, never hangs
        log.exception("validation of import %s stopped", pk)
        _fail(data_import, f"The file could not be read past row {total + 1} ({type(error).__name__}).")
        return
    DataImport.objects.filter(pk=pk, status=ImportStatus.VALIDATING).update(
        status=ImportStatus.VALIDATED,
        total_rows=total,
        validation_errors=errors,
        preview={"errors": first_errors, "rows": first_rows, "external_refs": external_refs},
    )
    data_import.refresh_from_db()
    track(data_import)


def _error_dict(row: Row, data_import: DataImport) -> dict:
    """The error as the error file shows it: the column the user uploaded, not our field name."""
    error = row.error
    column = next((c for c, f in data_import.mapping.items() if f and f == error.field), error.field or "")
    value = error.value if error.value not in (None, "") else row.raw.get(column, "")
    return {
        "row": row.number,
        "column": column,
        "value": str(value)[:300],
        "code": error.code,
        "message": error.message,
    }


def start(data_import: DataImport) -> bool:
    """Queue the run (after commit); False when the import is not in a state that can start."""
    moved = DataImport.objects.filter(
        pk=data_import.pk, status__in=[ImportStatus.VALIDATED, ImportStatus.PENDING]
    ).update(status=ImportStatus.PROCESSING, started_at=clock.now())
    if moved:
        data_import.refresh_from_db()
        track(data_import)
        transaction.on_commit(lambda: async_task("dataio.tasks.run_import", data_import.pk))
    return bool(moved)


def resume(data_import: DataImport) -> bool:
    """Queue a stopped run again (a worker died, or it failed on a fault): every unfinished
    partition from its own checkpoint."""
    moved = DataImport.objects.filter(
        pk=data_import.pk, status__in=[ImportStatus.PROCESSING, ImportStatus.FAILED], total_rows__isnull=False
    ).update(status=ImportStatus.PROCESSING, message="")
    if moved:
        transaction.on_commit(lambda: async_task("dataio.tasks.run_import", data_import.pk))
    return bool(moved)


def cancel(data_import: DataImport) -> bool:
    moved = DataImport.objects.filter(pk=data_import.pk, status__in=list(IMPORT_CANCELLABLE)).update(
        status=ImportStatus.CANCELLED, finished_at=clock.now()
    )
    if moved:
        data_import.refresh_from_db()
        track(data_import)
    return bool(moved)


def partition_count(data_import: DataImport) -> int:
    """How many partitions a run starting now uses (P, stored on the import: a resume keeps it).

    1 on SQLite (one writer), for the models not keyed by customer, and whenever applying rows of
    different customers in another order than the file's could change the result: a file that
    names customers by an external ID (`field:value`, counted by the validation pass; an import
    started before its validation ended counts as such), or a mapping that sets an external-ID
    custom field (two customers claiming one value: the first row in the file wins). Otherwise
    DATAIO_IMPORT_PARTITIONS, or when that is 0 the django-q2 cluster's workers."""
    field = importer_for(data_import).partition_field
    if connection.vendor != "postgresql" or not field:
        return 1
    if (data_import.preview or {}).get("external_refs", 1):
        return 1
    if external_id_fields() & {target for target in data_import.mapping.values() if target}:
        return 1
    configured = int(getattr(settings, "DATAIO_IMPORT_PARTITIONS", 0) or 0)
    workers = int(settings.Q_CLUSTER.get("workers", 1) or 1)
    return max(1, min(configured or workers, MAX_PARTITIONS))


MAX_PARTITIONS = 64


def partition_of(values: dict | None, problem: RowError | None, field: str, count: int) -> int:
    """The partition (0 .. count-1) of a mapped row: a stable hash (CRC-32 of the UTF-8 bytes) of
    its customer reference, normalised as importers._customer_ref does (str, stripped). A row
    with a problem or no reference goes to partition 0 (it fails without feeding the duplicate
    guard, so any partition would do). Computed before `prepare`, so a partition skips the
    other partitions' rows at the cost of reading them."""
    if count <= 1 or problem is not None or not values:
        return 0
    return partition_of_key(values.get(field), count)


def partition_of_key(value, count: int) -> int:
    """`partition_of` for a customer reference as read from its cell (None or "": partition 0)."""
    if value is None or count <= 1:
        return 0
    key = str(value).strip()
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % count if key else 0


def open_partitions(data_import: DataImport) -> list[int]:
    """Decide P once (the first start; an import checkpointed by an older version without
    partitions goes on as one partition carrying its `rows_done`), create the partition rows
    (idempotent) and return the indexes of the partitions not finished yet."""
    if not data_import.partitions:
        count = 1 if data_import.rows_done else partition_count(data_import)
        DataImport.objects.filter(pk=data_import.pk, partitions=0).update(partitions=count)
        data_import.refresh_from_db(fields=["partitions"])
    count = data_import.partitions
    ImportPartition.objects.bulk_create(
        [
            ImportPartition(
                data_import_id=data_import.pk,
                index=index,
                rows_done=data_import.rows_done if count == 1 else 0,
            )
            for index in range(count)
        ],
        ignore_conflicts=True,
    )
    return list(
        ImportPartition.objects.filter(data_import_id=data_import.pk, finished_at__isnull=True)
        .order_by("index")
        .values_list("index", flat=True)
    )


def run(pk: int) -> str:
    """The task dataio.tasks.run_import: queue a `run_partition` task for every unfinished
    partition (after commit), or finish the import when every partition has finished already;
    returns the import's status (with django-q2's sync mode, as the partitions left it)."""
    data_import = DataImport.objects.get(pk=pk)
    if data_import.status != ImportStatus.PROCESSING:
        return data_import.status
    pending = open_partitions(data_import)
    if not pending:
        return _finish_if_done(pk)
    for index in pending:
        transaction.on_commit(partial(async_task, "dataio.tasks.run_import_partition", pk, index))
    return DataImport.objects.values_list("status", flat=True).get(pk=pk)


def run_partition(pk: int, index: int) -> str:
    """Apply one partition from its checkpoint (see the module doc); returns the import's status
    as this partition left it."""
    data_import = DataImport.objects.select_related("created_by").get(pk=pk)
    if data_import.status != ImportStatus.PROCESSING:
        return data_import.status
    part = ImportPartition.objects.get(data_import_id=pk, index=index)
    if part.finished_at is not None:
        return _finish_if_done(pk)
    count = max(data_import.partitions, 1)
    importer = importer_for(data_import)
    importer.check_values = False  # the engine checks every value (same errors); see importers
    field = importer.partition_field
    reason = f"Import {data_import.pk}: {data_import.file_name}"[:500]
    deadline = time.monotonic() + slice_seconds()
    position = 0  # this partition's data rows read so far (its checkpoint counts the same rows)
    size = chunk_rows()
    statistics = _Statistics(data_import, count, index)
    chunk: list[Row] = []
    try:
        for number, raw, values, problem in iter_mapped(data_import, (field, count, index)):
            row = _prepare(importer, number, raw, values, problem)  # also feeds the duplicate guard
            position += 1
            if position <= part.rows_done:
                continue
            chunk.append(row)
            if len(chunk) >= size:
                statistics.before_chunk()
                if not _apply_chunk(data_import, part, importer, chunk, position, reason):
                    return data_import.status
                statistics.applied(len(chunk))
                chunk = []
                pause = float(getattr(settings, "DATAIO_CHUNK_PAUSE", 0))
                if pause:
                    time.sleep(pause)
                if time.monotonic() > deadline:
                    transaction.on_commit(partial(async_task, "dataio.tasks.run_import_partition", pk, index))
                    return ImportStatus.PROCESSING
        if chunk:
            statistics.before_chunk()
            if not _apply_chunk(data_import, part, importer, chunk, position, reason):
                return data_import.status
    except formats.FileProblem as problem:
        _fail(data_import, problem.message)
        return ImportStatus.FAILED
    except Exception as error:  # a fault, not bad input: keep the checkpoints, say where it stopped
        log.exception("import %s partition %s stopped", pk, index)
        done = DataImport.objects.values_list("rows_done", flat=True).get(pk=pk)
        _fail(
            data_import,
            f"Stopped after {done} rows ({type(error).__name__}); resume to continue.",
        )
        return ImportStatus.FAILED
    ImportPartition.objects.filter(pk=part.pk, rows_done=position, finished_at__isnull=True).update(
        finished_at=clock.now()
    )
    return _finish_if_done(pk)


def _finish_if_done(pk: int) -> str:
    """Finish the import (error file, final status) when it is processing and every partition has
    finished; under the import row's lock, so exactly one caller finishes it. Its status."""
    with transaction.atomic():
        locked = DataImport.objects.select_for_update().get(pk=pk)
        if locked.status != ImportStatus.PROCESSING:
            return locked.status
        parts = ImportPartition.objects.filter(data_import_id=pk)
        if not locked.partitions or parts.filter(finished_at__isnull=True).exists():
            return locked.status
        _finish(locked)
    return locked.status


DEADLOCK_RETRIES = 5
ANALYZE_SHARE = 0.1


class _Statistics:
    """A customer import grows the customer table faster than autovacuum may re-analyze it on a
    busy server (or with autovacuum off); with stale statistics the planner answers each chunk's
    customer lookup (an array of thousands of IDs) with a sequential scan, and the import slows
    down as the table grows (seen: 30 s per chunk at 36,000 rows). So the run analyzes the table
    itself before a chunk once the rows it applied since the last ANALYZE reach ANALYZE_SHARE of
    the table's estimated size (pg_class.reltuples; autovacuum's own rule, its default scale
    factor): after the first chunk into an empty table, then as the table grows by a tenth, and
    never for an import that adds a few percent to a large table (an ANALYZE samples 30,000 rows:
    seconds on a busy server). Never after the last chunk, which no lookup follows. PostgreSQL
    only; no lock that blocks writers.

    Only the lookup's columns are analyzed (LOOKUP_COLUMNS): the table's size estimate is updated
    all the same, each column's statistics cost their own sort of the sample (a whole-table
    ANALYZE of ~40 columns took 0.8 s of backend CPU on 100,000 customers, these three 0.15 s),
    and PostgreSQL leaves autovacuum's pending analyze of the table in place (it resets its
    count of changed rows only when every column was analyzed), so the other columns are
    refreshed as they would have been without the import's ANALYZE."""

    LOOKUP_COLUMNS = ("environment", "customer_id", "anonymized_at")  # bulk._lock_customers'

    def __init__(self, data_import: DataImport, partitions: int = 1, index: int = 0):
        # Partition 0 analyzes for all of them (each doing so would multiply the ANALYZEs), counting
        # the others' rows as its own: they grow the table about as fast.
        self.active = (
            data_import.model == ImportModel.CUSTOMERS and connection.vendor == "postgresql" and index == 0
        )
        self.rows = self._estimate() if self.active else 0.0
        self.added = 0
        self.partitions = max(partitions, 1)

    @staticmethod
    def _estimate() -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Customer._meta.db_table]
            )
            row = cursor.fetchone()
        return max(float(row[0]), 0.0) if row else 0.0  # -1: never analyzed

    def before_chunk(self) -> None:
        if not self.active or not self.added or self.added < ANALYZE_SHARE * self.rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(Customer._meta.get_field(name).column) for name in self.LOOKUP_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quote(Customer._meta.db_table)} ({columns})")
        self.rows, self.added = self._estimate(), 0

    def applied(self, rows: int) -> None:
        self.added += rows * self.partitions


def _apply_chunk(
    data_import: DataImport, part: ImportPartition, importer, chunk: list[Row], position: int, reason: str
) -> bool:
    """Apply one chunk of a partition with its checkpoint. Two imports touching the same
    customers in different orders can deadlock; PostgreSQL then rolls one chunk back entirely,
    and it is applied again (its rows' outcomes from the failed attempt are forgotten first)."""
    prepared = [(row.outcome, row.error) for row in chunk]
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return _apply_chunk_once(data_import, part, importer, chunk, position, reason)
        except OperationalError as error:
            if not _is_deadlock(error) or attempt == DEADLOCK_RETRIES - 1:
                raise
            for row, (outcome, row_error) in zip(chunk, prepared, strict=True):
                row.outcome, row.error = outcome, row_error
            time.sleep(0.05 * (attempt + 1))
    return False


def _is_deadlock(error: OperationalError) -> bool:
    cause = getattr(error, "__cause__", None)
    return getattr(cause, "sqlstate", None) in ("40P01", "40001") or "deadlock" in str(error).lower()


class _Stopped(Exception):
    """The import left `processing` while a chunk was being applied: the chunk is rolled back."""


COUNTED = ("created", "updated", "unchanged", "failed", "rows_done", "seconds")


def _apply_chunk_once(
    data_import: DataImport, part: ImportPartition, importer, chunk: list[Row], position: int, reason: str
) -> bool:
    """One transaction: lock the partition's row, check its checkpoint (another worker moved it:
    stop) and the import's status, apply the chunk, store its row errors and the partition's new
    checkpoint, then add the chunk's counts to the import in one UPDATE ... SET x = x + n at the
    very end (the partitions of one import meet on that row only for the moment before their
    commits). That UPDATE is conditional on the import still processing: a chunk never commits
    after a cancel or a failure, as when the import row was locked for the whole chunk."""
    started = time.monotonic()
    try:
        with transaction.atomic():
            locked = ImportPartition.objects.select_for_update().get(pk=part.pk)
            status = DataImport.objects.values_list("status", flat=True).get(pk=data_import.pk)
            if status != ImportStatus.PROCESSING or locked.rows_done != position - len(chunk):
                data_import.status = status
                return False  # another worker moved the checkpoint, or the import stopped
            importer.apply(chunk, data_import.created_by, reason)
            counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
            errors = []
            for row in chunk:
                counts[row.outcome or "failed"] += 1
                if row.error is not None:
                    info = _error_dict(row, data_import)
                    errors.append(
                        ImportRowError(
                            data_import_id=data_import.pk,
                            row=row.number,
                            column=info["column"][:200],
                            value=info["value"],
                            code=str(row.error.code)[:40],
                            message=row.error.message,
                            raw={
                                k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                                for k, v in row.raw.items()
                            },
                        )
                    )
            ImportRowError.objects.bulk_create(errors)
            locked.rows_done = position
            locked.save(update_fields=["rows_done"])
            moved = DataImport.objects.filter(pk=data_import.pk, status=ImportStatus.PROCESSING).update(
                **{name: F(name) + count for name, count in counts.items()},
                rows_done=F("rows_done") + len(chunk),
                seconds=F("seconds") + (time.monotonic() - started),
            )
            if not moved:
                raise _Stopped
            fresh = DataImport.objects.select_related("created_by").get(pk=data_import.pk)
            track(fresh)
    except _Stopped:
        data_import.status = DataImport.objects.values_list("status", flat=True).get(pk=data_import.pk)
        return False
    part.rows_done = position
    data_import.__dict__.update({name: getattr(fresh, name) for name in COUNTED})
    return True


def _fail(data_import: DataImport, message: str) -> None:
    DataImport.objects.filter(pk=data_import.pk).update(
        status=ImportStatus.FAILED, message=message[:2000], finished_at=clock.now()
    )
    data_import.refresh_from_db()
    track(data_import)


def _finish(data_import: DataImport) -> None:
    data_import.refresh_from_db()
    if data_import.failed:
        write_error_file(data_import)
    data_import.status = ImportStatus.FINISHED_WITH_ERRORS if data_import.failed else ImportStatus.FINISHED
    data_import.finished_at = clock.now()
    data_import.save(update_fields=["status", "finished_at", "error_file"])
    track(data_import)


ERROR_COLUMNS = ["row", "error_column", "error_value", "error_code", "error_message"]


def write_error_file(data_import: DataImport) -> None:
    """The failed rows as uploaded, then row number, column, value, code and message (CSV;
    formulas neutralised), ready to fix and upload again."""
    columns = list(data_import.columns)
    with tempfile.TemporaryFile() as handle:
        writer = formats.Writer(handle, "csv", columns + ERROR_COLUMNS)
        for error in data_import.row_errors.order_by("row", "id").iterator(chunk_size=2000):
            raw = error.raw or {}
            writer.write(
                [raw.get(c, "") for c in columns]
                + [error.row, error.column, error.value, error.code, error.message]
            )
        writer.close()
        handle.seek(0)
        data_import.error_file.save(f"import-{data_import.pk}-errors.csv", File(handle), save=False)
