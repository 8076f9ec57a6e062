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

from events.sets import register_event_set
from loyalty import clock

from .building import rebuild, rebuild_all
from .models import BuildStatus, BulkOperation, BulkOperationError, BulkStatus, BulkType, Segment

log = logging.getLogger("loyalty.segments")
ERROR_BATCH = 500
CHUNK = 2000  # customers per transaction of a bulk operation


def rebuild_segments() -> int:
    return rebuild_all()


def rebuild_segment(pk: int) -> None:
    """One queued build. An unexpected failure (a database error) marks the segment "failed" so the
    console stops showing "building", and is raised again for django-q2's failed-task record."""
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        return
    try:
        rebuild(segment)
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
    operation = BulkOperation.objects.select_related("created_by").get(pk=pk)
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
    BulkOperation.objects.filter(pk=pk).update(
        status=BulkStatus.DONE,
        processed=len(refs),
        number_of_errors=error_count,
        finished_at=clock.now(),
    )
    log.info(
        "bulk %s done: %s customers, %s errors", operation.batch_id, len(operation.customers), error_count
    )
