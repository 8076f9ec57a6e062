"""The outbox's rows by hand (docs/workflows.md, "Failed action branches"): what the console's
Pending triggers page and the API's /api/pending-triggers read and do.

- `in_state(qs, state)`: pending (never failed), retrying (failed, due again later), failed
  (parked after OUTBOX_MAX_ATTEMPTS: workflows.outbox.failed).
- `retry(environment, ids, user=, reason=)`: failed and retrying rows are due now with a fresh
  attempt budget, and a drain is queued on commit. A row whose run partly applied walks again
  safely: its run and the steps already done are found by their keys (workflows.tasks), so
  nothing applies twice.
- `discard(environment, id, user=, reason=)`: the action branch of that event is dropped: the
  change log gets an entry with the reason (loyalty.audit), then the row is deleted.
- `failed_count(environment)`: the failed rows, counted up to a cap through their partial index.
- `annotate(rows)`: each row's main event (with its customer) and the active workflows its
  events trigger (those a drain would run now), for a page of rows: one query.

Each change runs under transaction.atomic() with the rows locked, and is recorded in the change
log with the user (None for the API: the key is named in the entry) and the reason. Errors:
loyalty.errors.NotFound (no such row in the environment), BusinessRuleError (a row that is not
failed or retrying cannot be retried: it is already due).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from events.models import Event
from loyalty.audit.log import record
from loyalty.errors import BusinessRuleError, NotFound

from . import outbox, triggers
from .choices import TriggerState
from .models import PendingTrigger

BULK_MAX = 10_000  # rows one "Retry all failed" takes (the webhooks' replay takes as many)
COUNT_CAP = 999


def in_state(queryset, state: str | None):
    """The rows of `queryset` in `state` (a TriggerState value; None or "": all)."""
    if state == TriggerState.FAILED:
        return queryset.filter(failed_at__isnull=False)
    if state == TriggerState.RETRYING:
        return queryset.filter(failed_at__isnull=True, attempts__gt=0)
    if state == TriggerState.PENDING:
        return queryset.filter(failed_at__isnull=True, attempts=0)
    return queryset


def failed_count(environment: str, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): the environment's failed rows, at most cap + 1 index entries read."""
    rows = PendingTrigger.objects.filter(environment=environment, failed_at__isnull=False)
    count = rows.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


def _event_id(row: PendingTrigger) -> int | None:
    event_id = row.main_event_id or next(iter(row.event_ids or []), None)
    return event_id if isinstance(event_id, int) else None


def annotate(rows: list[PendingTrigger]) -> list[PendingTrigger]:
    """Set `row.event` (the main Event with its customer, or None when gone) and `row.workflows`
    [(id, name)] on each row; one query for the page's events (the follow-ups' actions are read
    with it)."""
    wanted = {pk for row in rows for pk in (row.event_ids or []) if isinstance(pk, int)}
    events = {
        event.pk: event
        for event in Event.objects.filter(pk__in=wanted)
        .select_related("customer")
        .only("id", "action", "customer", "customer__customer_id", "customer__anonymized_at")
    }
    table = triggers.active_event_workflows()
    for row in rows:
        row.event = events.get(_event_id(row))
        found: dict[int, str] = {}
        for pk in row.event_ids or []:
            event = events.get(pk) if isinstance(pk, int) else None
            for active in table.get((row.environment, event.action), ()) if event else ():
                if active.id != row.origin:
                    found.setdefault(active.id, active.name)
        row.workflows = list(found.items())
    return rows


def _summary(row: PendingTrigger) -> dict:
    return {
        "events": row.event_ids,
        "attempts": row.attempts,
        "state": row.state,
        "error": row.error,
        "failed_at": row.failed_at,
    }


def _customer(row: PendingTrigger) -> Customer | None:
    event_id = _event_id(row)
    if event_id is None:
        return None
    event = Event.objects.filter(pk=event_id).select_related("customer").only("customer").first()
    return event.customer if event is not None else None


def retry(
    environment: str, ids: list[int], *, user=None, reason: str, actor: str = "", strict: bool = True
) -> int:
    """Make the failed and retrying rows among `ids` due now (attempts back to 0, failed state
    cleared; the last error is kept until the next attempt) and queue a drain on commit. One
    change-log entry for the lot. Returns how many were queued. `strict` (one row asked for): a
    row that is missing raises NotFound, one that has not failed BusinessRuleError; otherwise
    those are left out."""
    with transaction.atomic():
        rows = list(
            PendingTrigger.objects.select_for_update()
            .filter(environment=environment, pk__in=ids[:BULK_MAX])
            .order_by("id")
        )
        missing = sorted(set(ids) - {row.pk for row in rows})
        if strict and missing:
            raise NotFound(f"No pending trigger {missing[0]!r}.", field="id")
        waiting = [row.pk for row in rows if row.state == TriggerState.PENDING]
        if strict and waiting:
            raise BusinessRuleError(
                f"Pending trigger {waiting[0]} has not failed: it is already queued.", field="id"
            )
        rows = [row for row in rows if row.state != TriggerState.PENDING]
        if not rows:
            return 0
        PendingTrigger.objects.filter(pk__in=[row.pk for row in rows]).update(
            attempts=0, failed_at=None, available_at=timezone.now()
        )
        record(
            user=user,
            action="pending_trigger_retry",
            environment=environment,
            customer=_customer(rows[0]) if len(rows) == 1 else None,
            object_repr=_repr(rows, actor),
            reason=reason,
            before={"rows": [{"id": row.pk, **_summary(row)} for row in rows[:100]]},
            after={"queued": len(rows)},
        )
        transaction.on_commit(outbox.schedule_drain)
    return len(rows)


def retry_failed(environment: str, *, user=None, reason: str, actor: str = "") -> int:
    """Retry every failed row of the environment (at most BULK_MAX, oldest first); 0: none."""
    ids = list(
        PendingTrigger.objects.filter(environment=environment, failed_at__isnull=False)
        .order_by("id")
        .values_list("pk", flat=True)[:BULK_MAX]
    )
    if not ids:
        return 0
    # A row retried meanwhile is left out, not refused.
    return retry(environment, ids, user=user, reason=reason, actor=actor, strict=False)


def discard(environment: str, pk: int, *, user=None, reason: str, actor: str = "") -> None:
    """Drop the action branch of the row's events: a change-log entry with the reason and what the
    row held, then the row is deleted (its workflows never run for those events)."""
    with transaction.atomic():
        row = PendingTrigger.objects.select_for_update().filter(environment=environment, pk=pk).first()
        if row is None:
            raise NotFound(f"No pending trigger {pk!r}.", field="id")
        record(
            user=user,
            action="pending_trigger_discard",
            environment=environment,
            customer=_customer(row),
            object_repr=_repr([row], actor),
            reason=reason,
            before=_summary(row),
            after={"discarded": row.pk},
        )
        row.delete()


def _repr(rows: list[PendingTrigger], actor: str) -> str:
    what = f"pending trigger #{rows[0].pk}" if len(rows) == 1 else f"{len(rows)} pending triggers"
    return f"{what} ({actor})" if actor else what
