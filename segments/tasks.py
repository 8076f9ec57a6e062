"""Background work of segments and lists (django-q2): segment rebuilds and bulk list operations.

- `rebuild_segments()`: the hourly Schedule (segments migration 0002): every active dynamic
  segment, in dependency order (segments.building.rebuild_all).
- `rebuild_segment(pk)`: one segment, queued after a save in the console or the API.
- `run_bulk(pk)`: one BulkOperation, in chunks of CHUNK customers (one transaction each) through
  `events.sets.register_event_set`: still one `customer_list_add` / `customer_list_remove` event
  per customer, stored with set-based SQL; a refusal (unknown customer, already on the list...)
  becomes a per-customer error and the rest go on.
"""

from __future__ import annotations

import logging

from django.db import transaction

from dataio import jobs
from dataio.choices import JobKind, JobStatus
from events.sets import register_event_set
from loyalty import clock

from .building import rebuild, rebuild_all
from .bulk import track_bulk
from .models import BuildStatus, BulkOperation, BulkOperationError, BulkStatus, BulkType, Segment

log = logging.getLogger("loyalty.segments")
ERROR_BATCH = 500
CHUNK = 2000  # customers per transaction of a bulk operation


def rebuild_segments() -> int:
    """The hourly rebuild of every dynamic segment, one job on the Jobs page (done = segments)."""
    key = f"segments:{clock.now():%Y%m%dT%H%M%S.%f}"
    with jobs.running(JobKind.SEGMENT_REBUILD, key, label="Hourly rebuild of every dynamic segment") as job:
        job.done = rebuild_all()
    return job.done


def rebuild_segment(pk: int, job_key: str = "") -> None:
    """One queued build, on the Jobs page under `job_key` (given by request_rebuild; one made up
    otherwise): done = the member count. An unexpected failure (a database error) marks the
    segment "failed" so the console stops showing "building", and is raised again for django-q2's
    failed-task record (the job is failed too)."""
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        return
    key = job_key or f"segment:{pk}:{clock.now():%Y%m%dT%H%M%S.%f}"
    try:
        with jobs.running(
            JobKind.SEGMENT_REBUILD,
            key,
            label=f"Rebuild of segment {segment.name}",
            environment="",
        ) as job:
            jobs.track(JobKind.SEGMENT_REBUILD, key, url=f"/segments/{pk}/")
            built = rebuild(segment)
            job.done = built.member_count
            if built.build_status == BuildStatus.FAILED:
                job.failed = 1  # the conditions no longer compile: finished with errors
                jobs.track(JobKind.SEGMENT_REBUILD, key, message=built.build_error[:500])
    except Exception:
        Segment.objects.filter(pk=pk).update(
            build_status=BuildStatus.FAILED, build_error="The build stopped with an internal error."
        )
        raise


def run_bulk(pk: int) -> None:
    """Process a queued bulk operation once (a second run of a finished batch does nothing)."""
    claimed = BulkOperation.objects.filter(pk=pk, status=BulkStatus.QUEUED).update(
        status=BulkStatus.PROCESSING, started_at=clock.now()
    )
    if not claimed:
        return
    operation = BulkOperation.objects.select_related("created_by", "customer_list").get(pk=pk)
    track_bulk(operation, JobStatus.PROCESSING)
    try:
        _run_bulk(operation)
    except Exception as error:
        track_bulk(operation, JobStatus.FAILED, message=f"Stopped ({type(error).__name__}).")
        raise


def _run_bulk(operation: BulkOperation) -> None:
    pk = operation.pk
    action = "customer_list_add" if operation.type == BulkType.ADD else "customer_list_remove"
    refs = operation.customers
    error_count = 0
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start : start + CHUNK]
        # One transaction per chunk: its events (one per customer, set-based SQL: events.sets),
        # its refusals and the progress commit together, so a crash never half-records a chunk.
        with transaction.atomic():
            outcome = register_event_set(
                environment=operation.environment,
                action=action,
                customers=chunk,
                data={"list": operation.customer_list_id},
                source=operation.source,
                admin_user=operation.created_by,
                reason=operation.reason,
            )
            errors = [
                BulkOperationError(
                    operation=operation,
                    position=start + position,
                    customer=chunk[position][:300],
                    code=error.code,
                    message=error.message,
                )
                for position, error in sorted(outcome.refused, key=lambda refused: refused[0])
            ]
            BulkOperationError.objects.bulk_create(errors, batch_size=ERROR_BATCH)
            error_count += len(errors)
            BulkOperation.objects.filter(pk=pk).update(
                processed=start + len(chunk), number_of_errors=error_count
            )
            track_bulk(
                operation, JobStatus.PROCESSING, done=start + len(chunk) - error_count, failed=error_count
            )
    BulkOperation.objects.filter(pk=pk).update(
        status=BulkStatus.DONE,
        processed=len(refs),
        number_of_errors=error_count,
        finished_at=clock.now(),
    )
    track_bulk(
        operation,
        JobStatus.FINISHED_WITH_ERRORS if error_count else JobStatus.FINISHED,
        done=len(refs) - error_count,
        failed=error_count,
    )
    log.info(
        "bulk %s done: %s customers, %s errors", operation.batch_id, len(operation.customers), error_count
    )
