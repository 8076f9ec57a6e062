"""Register a chunk of events for many customers at once: `register_batch`.

    imports (dataio.running), bulk list operations, anything that applies many rows
        -> register_batch(environment=, items=[BatchItem(customer, action, data), ...], source=)
            one transaction for the whole chunk
            opt_in / profile / point_add: events.bulk.register_events (the chunk's customers,
                      balances and tier rows read and locked in a few queries, the rows written in
                      multi-row INSERTs and executemany UPDATEs; same validation and effects)
            any other item: a savepoint around `register_event` (the same validation, locks,
                      handlers, follow-up events, tiers and ledger as one event sent through the API)
            a refused item stores nothing and is reported with its EngineError
        <- [BatchOutcome(index, result | None, error | None)], in the items' order

What the batch saves over calling `register_event` once per row: the per-row transaction (one
COMMIT, one WAL flush, per chunk instead of one per event) and, for the batched actions, the
round trips of each statement (events.bulk's docstring lists when an item still goes one by one). Workflows scheduled by the events run
after the chunk commits (`transaction.on_commit`). Anything that is not an EngineError (a database
error, a bug) rolls the whole chunk back and propagates: a chunk is applied entirely or not at all,
apart from its refused rows.

A caller that must commit other rows with the chunk (an import's checkpoint and row errors) calls
`register_batch` inside its own `transaction.atomic()`: the chunk then commits with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from loyalty.context import EventResult
from loyalty.errors import EngineError

from . import bulk
from .choices import EventSource
from .engine import register_event


@dataclass
class BatchItem:
    """One event of a batch: what `register_event` takes for one customer."""

    customer: str | None
    action: str
    data: dict = field(default_factory=dict)
    account: str | None = None
    external_id: str | None = None
    effective_timestamp: dt.datetime | str | None = None
    reason: str = ""


@dataclass
class BatchOutcome:
    """The fate of item `index`: `result` when registered, `error` when refused (nothing stored)."""

    index: int
    result: EventResult | None = None
    error: EngineError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def register_batch(
    *,
    environment: str,
    items: Iterable[BatchItem],
    source: str = EventSource.IMPORT,
    admin_user=None,
    reason: str = "",
    batched: bool = True,
    explain: bool = True,
) -> list[BatchOutcome]:
    """Register `items` in order in one transaction: batched SQL for the actions events.bulk
    batches (opt_in, profile, point_add), each other item through register_event in its own
    savepoint; `batched=False` sends every item through register_event. `explain=False` (a
    caller that only counts outcomes: imports) leaves the before / after figures (balances,
    tiers, status) out of the batched items' results.

    Returns one BatchOutcome per item. `reason` is stored on every event whose item has none (an
    import names itself there: "Import 12: customers.csv"). Raises only what is not an
    EngineError; then nothing of the chunk is stored."""
    if not batched:
        return _one_by_one(environment, items, source, admin_user, reason)
    return [
        BatchOutcome(outcome.index, result=outcome.result, error=outcome.error)
        for outcome in bulk.register_events(
            environment=environment,
            items=items,
            source=source,
            admin_user=admin_user,
            reason=reason,
            explain=explain,
        )
    ]


def _one_by_one(environment, items, source, admin_user, reason) -> list[BatchOutcome]:
    """Every item through register_event in its own savepoint (the reference the batched path is
    tested against: tests/events/test_bulk_property.py)."""
    outcomes: list[BatchOutcome] = []
    with transaction.atomic():
        for index, item in enumerate(items):
            try:
                # register_event opens its own atomic block: inside ours it is a savepoint, so a
                # refusal raised in the handler rolls back this item's rows and nothing else.
                result = register_event(
                    environment=environment,
                    customer=item.customer,
                    action=item.action,
                    data=item.data,
                    account=item.account,
                    external_id=item.external_id,
                    effective_timestamp=item.effective_timestamp,
                    source=source,
                    admin_user=admin_user,
                    reason=item.reason or reason,
                )
            except EngineError as error:
                outcomes.append(BatchOutcome(index, error=error))
            else:
                outcomes.append(BatchOutcome(index, result=result))
    return outcomes


__all__ = ["BatchItem", "BatchOutcome", "register_batch"]
