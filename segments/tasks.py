"""Background work of segments and lists (django-q2): segment rebuilds and bulk list operations.

- `rebuild_segments()`: the hourly Schedule (segments migration 0002): every active dynamic
  segment, in dependency order (segments.building.rebuild_all).
- `rebuild_segment(pk)`: one segment, queued after a save in the console or the API.
- `run_bulk(pk)`: one BulkOperation; each customer is one engine event, so a refusal (unknown
  customer, already on the list, banned...) becomes a per-customer error and the rest go on.
"""

from __future__ import annotations

import logging

from events.engine import register_event
from loyalty import clock
from loyalty.errors import EngineError

from .building import rebuild, rebuild_all
from .models import BuildStatus, BulkOperation, BulkOperationError, BulkStatus, BulkType, Segment

log = logging.getLogger("loyalty.segments")
ERROR_BATCH = 500
PROGRESS_EVERY = 1000


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
    errors: list[BulkOperationError] = []
    error_count = 0
    for position, ref in enumerate(operation.customers):
        try:
            register_event(
                environment=operation.environment,
                customer=ref,
                action=action,
                data={"list": operation.customer_list_id},
                source=operation.source,
                admin_user=operation.created_by,
                reason=operation.reason,
            )
        except EngineError as error:
            error_count += 1
            errors.append(
                BulkOperationError(
                    operation=operation,
                    position=position,
                    customer=ref[:300],
                    code=error.code,
                    message=error.message,
                )
            )
        if len(errors) >= ERROR_BATCH:
            BulkOperationError.objects.bulk_create(errors)
            errors = []
        if (position + 1) % PROGRESS_EVERY == 0:
            BulkOperation.objects.filter(pk=pk).update(processed=position + 1, number_of_errors=error_count)
    BulkOperationError.objects.bulk_create(errors)
    BulkOperation.objects.filter(pk=pk).update(
        status=BulkStatus.DONE,
        processed=len(operation.customers),
        number_of_errors=error_count,
        finished_at=clock.now(),
    )
    log.info(
        "bulk %s done: %s customers, %s errors", operation.batch_id, len(operation.customers), error_count
    )
