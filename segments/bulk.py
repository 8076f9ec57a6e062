"""Bulk add / remove of list members (reference-behaviour.md §2.2, "Bulk Operation Request Queue").

`queue_bulk` validates the request, stores a BulkOperation (status queued, a batch ID) and hands
it to django-q2 after commit; `segments.tasks.run_bulk` then registers one `customer_list_add` /
`customer_list_remove` event per customer (set-based, `events.sets.register_event_set`), recording
each refusal as a BulkOperationError (customer, code, message) and moving the batch to processing,
then done.
"""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

from dataio import jobs
from dataio.choices import JobKind, JobStatus
from loyalty.errors import BusinessRuleError, ValidationError

from .models import BulkOperation, BulkType, CustomerList, Status

MAX_CUSTOMERS = 100_000
MAX_REF_LENGTH = 300


def clean_customers(customers) -> list[str]:
    """The request's customer references: a non-empty list of IDs (or field:value external IDs)."""
    if not isinstance(customers, list) or not customers:
        raise ValidationError("“customers” must be a non-empty list of customer IDs.", field="customers")
    if len(customers) > MAX_CUSTOMERS:
        raise ValidationError(f"At most {MAX_CUSTOMERS} customers per request.", field="customers")
    cleaned = []
    for index, ref in enumerate(customers):
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF_LENGTH or "\x00" in ref:
            raise ValidationError(f"Customer {index + 1} is not a customer ID.", field=f"customers[{index}]")
        cleaned.append(ref.strip())
    return cleaned


def queue_bulk(
    customer_list: CustomerList,
    type_: str,
    customers,
    *,
    environment: str,
    source: str,
    user=None,
    reason: str = "",
) -> BulkOperation:
    """Store a queued bulk operation and schedule it (after commit). Raises ValidationError /
    BusinessRuleError (nothing stored) for a bad request or a list that takes no changes."""
    if type_ not in BulkType.values:
        raise ValidationError(f"Unknown bulk operation {type_!r}.", field="type")
    refs = clean_customers(customers)
    if customer_list.status == Status.ARCHIVED or (
        type_ == BulkType.ADD and customer_list.status != Status.ACTIVE
    ):
        raise BusinessRuleError(
            f"Customer list {customer_list.name!r} is {customer_list.status}.", field="list"
        )
    if "\x00" in (reason or ""):
        raise ValidationError("The reason must be text without NUL characters.", field="reason")
    operation = BulkOperation.objects.create(
        type=type_,
        customer_list=customer_list,
        environment=environment,
        customers=refs,
        number_of_customers=len(refs),
        source=source,
        reason=reason or "",
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    track_bulk(operation, JobStatus.PENDING)
    transaction.on_commit(lambda: async_task("segments.tasks.run_bulk", operation.pk))
    return operation


def track_bulk(operation: BulkOperation, status: str, **fields):
    """The operation's row on the Jobs page (dataio.jobs): kind bulk_list, key `bulk:<id>`."""
    verb = "add to" if operation.type == BulkType.ADD else "remove from"
    return jobs.track(
        JobKind.BULK_LIST,
        f"bulk:{operation.pk}",
        label=f"Bulk {verb} list {operation.customer_list.name}: {operation.number_of_customers:,} customers",
        status=status,
        environment=operation.environment,
        total=operation.number_of_customers,
        url=f"/segments/lists/bulk/{operation.batch_id}/",
        user=operation.created_by,
        **fields,
    )
