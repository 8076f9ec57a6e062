"""Refunds of accepted transactions (000: only accepted ones), and point_unburn.

Earned points are taken back in proportion to the refunded value (cumulatively, rounding down,
so the sum taken back never exceeds what was earned); a full refund takes back everything still
open. Burned points are given back in the same proportion through point_unburn follow-ups. A
balance never goes negative: the part a refund cannot take back is recorded as shortfall.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from coupons import coupons as coupon_ops
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, MissingParameter, ValidationError

from . import earning, points
from .checkout import TX_FIELD, S, find_locked, finish, refuse, take_back, unburn
from .items import CENT, parse_money
from .models import RefundValue, Transaction

REFUNDS = "refund"


def _settle(ctx: HandlerContext, tx: Transaction, before, *, points_now: int | None = None) -> None:
    """After refunded_value grew from `before`: take back points and give back burned points in
    proportion, and record what this event gave back (RefundValue, the dashboard's net revenue)."""
    if tx.refunded_value >= tx.total:
        tx.refunded_value = tx.total
        tx.status = S.REFUNDED
        tx.closed_at = ctx.now
    if tx.refunded_value > before:
        RefundValue.objects.create(event=ctx.event, transaction=tx, amount=tx.refunded_value - before)
    full = tx.status == S.REFUNDED
    accounted = tx.points_taken_back + tx.points_shortfall
    if full:
        owed = tx.points_open
    elif points_now is not None:
        owed = points_now
    else:
        owed = earning.take_back(tx.points_earned, accounted, tx.refunded_value, tx.total)
    take_back(ctx, tx, owed)
    burned_target = earning.take_back(tx.points_burned, tx.points_unburned, tx.refunded_value, tx.total)
    unburn(ctx, tx, tx.burned_open if full else burned_target)
    # Coupons and gift cards (docs/reversals.md): a full refund gives everything back, as a
    # reject does; a partial one gives gift cards back their share of what they paid.
    if full:
        coupon_ops.give_back_all(ctx, tx)
    elif tx.total > 0:
        coupon_ops.give_back_share(ctx, tx, tx.refunded_value / tx.total)
    ctx.result.extra["refunded_value"] = tx.refunded_value


def refund(ctx: HandlerContext) -> None:
    tx = find_locked(ctx)
    refuse(tx, "refund", (S.ACCEPTED,))
    before = tx.refunded_value
    tx.refunded_value = tx.total
    for item in tx.items.all():
        if item.refunded_quantity != item.quantity:
            item.refunded_quantity = item.quantity
            item.save(update_fields=["refunded_quantity"])
    _settle(ctx, tx, before)
    finish(ctx, tx)


def partial_refund(ctx: HandlerContext) -> None:
    """Refund an amount (data.amount) of an accepted transaction."""
    tx = find_locked(ctx)
    refuse(tx, "partial_refund", (S.ACCEPTED,))
    if ctx.data.get("amount") in (None, ""):
        raise MissingParameter("Missing required attribute 'amount'.", field="data.amount")
    amount = parse_money(ctx.data["amount"], "data.amount")
    if amount <= 0:
        raise ValidationError("The refunded amount must be more than 0.", field="data.amount", code=112202)
    left = tx.total - tx.refunded_value
    if amount > left:
        raise BusinessRuleError(
            f"Only {left} of transaction {tx.transaction_id!r} is left to refund; {amount} is too much.",
            field="data.amount",
            code=112203,  # the reference's "amount is more than the transaction total"
        )
    if amount > ctx.customer.purchase_total:
        raise BusinessRuleError(
            f"The refunded amount {amount} is more than the customer's purchase total.",
            field="data.amount",
            code=112204,
        )
    before = tx.refunded_value
    tx.refunded_value += amount
    _settle(ctx, tx, before)
    finish(ctx, tx)


def refund_item(ctx: HandlerContext) -> None:
    """Refund (a quantity of) one item, named by data.product_id."""
    tx = find_locked(ctx)
    refuse(tx, "refund_item", (S.ACCEPTED,))
    product_id = str(ctx.data.get("product_id") or "")
    if not product_id:
        raise MissingParameter("Missing required attribute 'product_id'.", field="data.product_id")
    lines = [item for item in tx.items.all() if item.product_id == product_id]
    if not lines:
        raise BusinessRuleError(
            f"Transaction {tx.transaction_id!r} has no item {product_id!r}.", field="data.product_id"
        )
    open_quantity = sum(item.quantity - item.refunded_quantity for item in lines)
    wanted = ctx.data.get("quantity")
    quantity = open_quantity if wanted in (None, "") else wanted
    if not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError("quantity must be a whole number, 1 or more.", field="data.quantity")
    if quantity > open_quantity:
        raise BusinessRuleError(
            f"Only {open_quantity} of item {product_id!r} are left to refund.",
            field="data.quantity",
            code=112203,
        )
    refunded_before = tx.refunded_value
    value = Decimal("0")
    item_points = 0
    remaining = quantity
    for item in lines:
        take = min(remaining, item.quantity - item.refunded_quantity)
        if take <= 0:
            continue
        before = item.refunded_quantity
        item.refunded_quantity += take
        value += (item.subtotal * take / item.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        # Per-item rewarding: the line's own points go back, in proportion to its quantity.
        item_points += (item.points * item.refunded_quantity // item.quantity) - (
            item.points * before // item.quantity
        )
        item.save(update_fields=["refunded_quantity"])
        remaining -= take
    tx.refunded_value = min(tx.total, tx.refunded_value + value)
    if all(item.refunded_quantity == item.quantity for item in tx.items.all()):
        tx.refunded_value = tx.total
    per_item = any(item.points for item in lines)
    _settle(ctx, tx, refunded_before, points_now=item_points if per_item else None)
    finish(ctx, tx)


def point_unburn(ctx: HandlerContext) -> None:
    """Give back points burned on a transaction (data.points; default: all still burned)."""
    tx = find_locked(ctx)
    refuse(tx, "point_unburn", (S.PENDING, S.ACCEPTED, S.REJECTED, S.REFUNDED))
    wanted = ctx.data.get("points")
    amount = tx.burned_open if wanted in (None, "") else wanted
    if not isinstance(amount, int) or amount <= 0:
        raise ValidationError("points must be a whole number, 1 or more.", field="data.points")
    if amount > tx.burned_open:
        raise BusinessRuleError(
            f"Only {tx.burned_open} burned points of transaction {tx.transaction_id!r} are left to give back.",
            field="data.points",
        )
    if tx.status == S.PENDING:  # held, not spent, while pending: release (docs/reversals.md)
        points.release(ctx, amount, tx.account)
        tx.points_burned -= amount
    else:
        points.unburn(ctx, amount, tx.account)
        tx.points_unburned += amount
    finish(ctx, tx)


__all__ = ["refund", "partial_refund", "refund_item", "point_unburn", "TX_FIELD"]
