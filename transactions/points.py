"""The few ledger calls commerce makes, in one place (loyalty.ledger owns lots and balances).

Every call runs inside the handler's transaction with the customer row locked by the engine, so
reading the spendable balance and then debiting it cannot race. `event` names the follow-up event
(checkout_item, point_unburn, ...) the ledger lines belong to; the default is ctx.event.
"""

from __future__ import annotations

from loyalty.context import HandlerContext
from loyalty.ledger import operations as ledger


def _for(ctx: HandlerContext, event) -> HandlerContext:
    return ctx if event is None or event is ctx.event else ctx.follow_up(event)


def spendable(ctx: HandlerContext, account) -> int:
    return ledger.balance(ctx, account).spendable


def earn(ctx: HandlerContext, points: int, account, *, event=None) -> None:
    if points <= 0:
        return
    ledger.credit(_for(ctx, event), points, account=account)
    ctx.touched_points = True


def take_back(ctx: HandlerContext, points: int, account, *, event=None) -> int:
    """Take back up to `points` earned points; never below a zero balance. Returns points taken."""
    if points <= 0:
        return 0
    taken = min(points, spendable(ctx, account))
    if taken > 0:
        ledger.debit(_for(ctx, event), taken, account=account)
        ctx.touched_points = True
    return taken


def burn(ctx: HandlerContext, points: int, account, *, event=None) -> None:
    """Spend points on a purchase or reward. Raises InsufficientPoints / StatusForbids."""
    if points <= 0:
        return
    ledger.spend(_for(ctx, event), points, account=account)


def unburn(ctx: HandlerContext, points: int, account, *, event=None) -> None:
    """Give back burned points as a new lot (the ledger's point_unspend)."""
    if points <= 0:
        return
    base = _for(ctx, event)
    ledger.point_unspend(base.follow_up(base.event, data={"points": points}, account=account))


def reserve(ctx: HandlerContext, points: int, account) -> None:
    """Hold points for a pending purchase (points_burned while pending). Raises InsufficientPoints."""
    if points > 0:
        ledger.reserve(ctx, points, account=account)


def release(ctx: HandlerContext, points: int, account) -> None:
    """Give held points back (a pending purchase rejected or its points_burned lowered)."""
    if points > 0:
        ledger.release(ctx, points, account=account)


def spend_reserved(ctx: HandlerContext, points: int, account) -> None:
    """Spend the points held for a purchase, at its accept."""
    if points > 0:
        ledger.spend(ctx, points, account=account, from_reserved=True)
