"""What a handler receives and what register_event returns.

Domain modules (customers.lifecycle, loyalty.ledger, loyalty.tiers, transactions.checkout,
coupons.rewards) import this module, never the engine: `ctx.emit(...)` registers a follow-up
event (checkout_item, point_expire, tier_up, ...) in the same transaction without an upward import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from customers.models import Customer
    from events.models import Event
    from loyalty.models import LedgerEntry, PointAccount, PointLot, Program


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
    # coupon: {"code": "coupon_not_found", "coupon": "...", "message": "..."}; issue 13 §3).
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
    """One event being applied. `customer` is locked (SELECT ... FOR UPDATE) for the transaction."""

    event: Event
    customer: Customer
    program: Program
    account: PointAccount | None
    data: dict[str, Any]
    now: dt.datetime
    result: EventResult
    emit: Callable[..., Event]  # emit(action, data=None, points=0, account=None, parent=None) -> Event
    # Set by handlers that changed earned points, so the engine re-evaluates tiers afterwards.
    touched_points: bool = False
    # Added fields (defaults keep older call sites working):
    environment: str = "live"
    source: str = "api"  # events.choices.EventSource of the registered event
    admin_user: Any = None
    spec: Any = None  # the events.definitions.ActionSpec applied
    extra_attrs: tuple = ()  # console-defined attributes added to a built-in action (not customer data)
