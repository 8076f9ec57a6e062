"""What a handler receives and what register_event returns.

Domain modules (customers.lifecycle, loyalty.ledger, loyalty.tiers, transactions.checkout,
coupons.rewards) import this module, never the engine: `ctx.emit(...)` registers a follow-up
event (checkout_item, point_expire, tier_up, ...) in the same transaction without an upward import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customers.models import Customer
    from events.models import Event
    from loyalty.models import CustomerTier, LedgerEntry, PointAccount, PointBalance, PointLot, Program


@dataclass
class EventResult:
    """The effects of one registered event, explained."""

    event: Event | None = None
    customer: Customer | None = None
    dry_run: bool = False
    customer_created: bool = False
    events: list[Event] = field(default_factory=list)  # the event and every follow-up, in order
    ledger_entries: list[LedgerEntry] = field(default_factory=list)
    lots_created: list[PointLot] = field(default_factory=list)
    lots_consumed: list[dict] = field(default_factory=list)  # {"lot": id, "account": code, "points": n}
    balances_before: dict[str, dict[str, int]] = field(default_factory=dict)  # account code -> figures
    balances_after: dict[str, dict[str, int]] = field(default_factory=dict)
    tiers_before: dict[str, str | None] = field(default_factory=dict)  # structure code -> tier code
    tiers_after: dict[str, str | None] = field(default_factory=dict)
    status_before: str | None = None
    status_after: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. refund shortfall recorded
    # Problems reported without refusing the event, with stable codes (a checkout's unusable
    # coupon: {"code": "coupon_not_found", "coupon": "...", "message": "..."}).
    warnings: list[dict] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # handler-specific facts (transaction, coupon...)

    def point_events(self) -> list[Event]:
        """Events that changed spendable points (the reference response's `events[]`)."""
        changed = {
            entry.event_id for entry in self.ledger_entries if entry.amount and entry.kind != "pending"
        }
        return [event for event in self.events if event.pk in changed]

    def explain(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "customer_created": self.customer_created,
            "events": [{"id": e.pk, "action": e.action, "points": e.points} for e in self.events],
            "ledger_entries": [
                {
                    "event": entry.event_id,
                    "account": entry.account.code,
                    "kind": entry.kind,
                    "amount": entry.amount,
                    "lot": entry.lot_id,
                    "spendable_after": entry.spendable_after,
                }
                for entry in self.ledger_entries
            ],
            "lots_created": [
                {
                    "id": lot.pk,
                    "account": lot.account.code,
                    "points": lot.points,
                    "status": lot.status,
                    "activates_at": lot.activates_at.isoformat() if lot.activates_at else None,
                    "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
                }
                for lot in self.lots_created
            ],
            "lots_consumed": self.lots_consumed,
            "balances": {"before": self.balances_before, "after": self.balances_after},
            "tiers": {"before": self.tiers_before, "after": self.tiers_after},
            "status": {"before": self.status_before, "after": self.status_after},
            "notes": self.notes,
            "warnings": self.warnings,
        }


@dataclass
class HandlerContext:
    """One event being applied. `customer` is locked (SELECT ... FOR UPDATE) for the transaction.

    The last five fields are what the ledger and tiers share while the event is applied. Follow-up
    contexts (`dataclasses.replace(ctx, event=...)`) share the same dict, set and list objects, so a
    locked balance row exists once per event and is written back once.
    """

    event: Event
    customer: Customer
    program: Program
    account: PointAccount | None
    data: dict[str, Any]
    now: dt.datetime
    result: EventResult
    emit: Callable[..., Event]  # emit(action, data=None, points=0, account=None, parent=None) -> Event
    environment: str = "live"
    source: str = "api"  # events.choices.EventSource of the registered event
    admin_user: Any = None
    spec: Any = None  # the events.definitions.ActionSpec applied
    extra_attrs: tuple = ()  # console-defined attributes added to a built-in action (not customer data)
    # Set by handlers that changed earned points, so the engine re-evaluates tiers afterwards.
    touched_points: bool = False
    # {account id: the customer's PointBalance row, locked}. The engine loads every row of the
    # customer before the handler runs (balances_complete=True), so a missing account means "no row
    # yet" and the ledger creates it without a SELECT; a context built elsewhere starts empty.
    balances: dict[int, PointBalance] = field(default_factory=dict)
    balances_complete: bool = False
    dirty_balances: set[int] = field(default_factory=set)  # account ids with unsaved changes
    unsaved_entries: list[LedgerEntry] = field(default_factory=list)  # written by ledger.flush()
    # {tier structure id: CustomerTier}: loaded once per event (None until then) by loyalty.tiers.
    tier_rows: dict[int, CustomerTier] | None = None

    def follow_up(self, event: Event, **changes: Any) -> HandlerContext:
        """A context for a follow-up event (checkout_item, coupon_assign...) sharing this one's state."""
        return dataclasses.replace(self, event=event, data=changes.pop("data", event.data), **changes)


@dataclass
class GuestContext:
    """A checkout with no customer: the engine's one declared case without a customer row (001's
    guest checkout). The handler (`transactions.checkout.guest_checkout`) stores the transaction
    with customer NULL and no points; `checkout_claim` or enrollment hands it to a customer later.
    """

    event: Event
    program: Program
    account: PointAccount | None
    data: dict[str, Any]
    now: dt.datetime
    result: EventResult
    environment: str = "live"
    source: str = "api"
