"""Ledger handlers that act on chosen lots: change_expiration, point_expire, point_activate; the
dynamic-expiration hook the engine calls after every event; and merge_into for the merge handler.
Same rules as loyalty.ledger.operations: customer row locked by the
engine, every change through balance() / change() / entry() / flush().
"""

from __future__ import annotations

from customers.choices import CustomerStatus
from customers.models import Customer
from events.immutability import Change, allow
from events.models import Event
from loyalty.context import HandlerContext
from loyalty.errors import Conflict, ValidationError
from loyalty.models import CustomerTier
from loyalty.models.ledger import EntryKind, LedgerEntry, LotStatus, PointAccount, PointBalance, PointLot

from . import expiration
from .accounts import account_by_id, all_accounts
from .operations import (
    TOTALS,
    account_for,
    balance,
    change,
    date_attribute,
    entry,
    flush,
    lots_in_spend_order,
)


def _lot_ids(ctx) -> list[int]:
    ids = []
    for value in ctx.data.get("lots") or []:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationError("Lots must be given by their numeric IDs.", field="data.lots")
    if not ids:
        raise ValidationError("Select at least one lot.", field="data.lots")
    return sorted(set(ids))


def change_expiration(ctx: HandlerContext) -> None:
    """Set a new expiration date on chosen lots and on their earning events (documented change).

    A date in the past makes the lots expire at the next scheduled run.
    """

    ids = _lot_ids(ctx)
    new_date = date_attribute(ctx.data, "expiration_date")
    if new_date is None:
        raise ValidationError("Give the new expiration date.", field="data.expiration_date")
    lots = list(PointLot.objects.filter(customer=ctx.customer, pk__in=ids))
    if len(lots) != len(ids):
        raise ValidationError("Some lots do not belong to this customer.", field="data.lots")
    for lot in lots:
        if lot.status not in (LotStatus.ACTIVE, LotStatus.PENDING):
            raise ValidationError(
                f"Lot {lot.pk} is {lot.status}; its expiration cannot change.", field="data.lots"
            )
        if lot.status == LotStatus.PENDING and lot.activates_at and new_date <= lot.activates_at:
            raise ValidationError(
                "The expiration date must be after the activation date.", field="data.expiration_date"
            )
    PointLot.objects.filter(pk__in=ids).update(expires_at=new_date)
    with allow(Change.EXPIRATION):
        Event.objects.filter(pk__in={lot.event_id for lot in lots}).update(expires_at=new_date)
    ctx.result.extra["lots_changed"] = ids
    ctx.result.extra["expiration_date"] = new_date.isoformat()


def point_expire(ctx: HandlerContext) -> None:
    """Internal (loyalty.tasks): expire the due lots named in data.lots, each exactly once."""
    account = account_for(ctx, None)
    due = lots_in_spend_order(ctx, account, status=LotStatus.ACTIVE, expires_at__lte=ctx.now)
    if ctx.data.get("lots"):
        due = due.filter(pk__in=_lot_ids(ctx))
    row = balance(ctx, account)
    total = 0
    for lot in due:
        n = lot.remaining
        lot.expired_points += n
        lot.status = LotStatus.EXPIRED
        lot.save(update_fields=["expired_points", "status"])
        change(ctx, row, spendable=-n, expired=n)
        entry(ctx, account, row, EntryKind.EXPIRE, -n, lot)
        ctx.result.lots_consumed.append(
            {"lot": lot.pk, "account": account.code, "points": n, "kind": "expire"}
        )
        total += n
    if total != int(ctx.data.get("points") or 0):
        # The event row already carries the points the caller counted under this same lock.
        raise Conflict("The lots to expire changed; run the expiration again.")
    flush(ctx)


def point_activate(ctx: HandlerContext) -> None:
    """Internal (loyalty.tasks): pending lots whose activation date has come become spendable."""
    account = account_for(ctx, None)
    due = lots_in_spend_order(ctx, account, status=LotStatus.PENDING, activates_at__lte=ctx.now)
    if ctx.data.get("lots"):
        due = due.filter(pk__in=_lot_ids(ctx))
    row = balance(ctx, account)
    total = 0
    for lot in due:
        lot.status = LotStatus.ACTIVE
        lot.save(update_fields=["status"])
        change(ctx, row, pending=-lot.points, spendable=lot.points)
        entry(ctx, account, row, EntryKind.ACTIVATE, lot.points, lot)
        total += lot.points
    if total != int(ctx.data.get("points") or 0):
        raise Conflict("The lots to activate changed; run the activation again.")
    flush(ctx)


# ---------------------------------------------------------------------------------------------
# Engine hooks


def after_event(ctx: HandlerContext) -> None:
    """Customer activity (every action but list memberships: ActionSpec.activity) pushes dynamic
    expiration dates (no query without such accounts)."""
    if ctx.event.source == "system" or ctx.customer.status == CustomerStatus.OPTED_OUT:
        return
    if ctx.spec is not None and not ctx.spec.activity:
        return
    dynamic = [a for a in all_accounts() if a.expiration_rule == "dynamic"]
    if dynamic:
        expiration.push_dynamic_expiration(ctx.customer, dynamic, ctx.program, ctx.now)


def merge_into(ctx: HandlerContext, source) -> None:
    """Move every lot, balance figure and ledger line of `source` to ctx.customer (locked).

    The merge handler locks the source after the target; balances of the source become zero.
    """
    Customer.objects.select_for_update().filter(pk=source.pk).first()  # usually locked already
    if source.pk == ctx.customer.pk:
        raise ValidationError("A customer cannot be merged into itself.", field="data.source")
    for src in PointBalance.objects.select_for_update().filter(customer=source).order_by("account_id"):
        account = account_by_id(src.account_id)
        row = balance(ctx, account)
        moved = {name: getattr(src, name) for name in TOTALS}
        change(ctx, row, **moved)
        entry(ctx, account, row, EntryKind.MERGE_IN, moved["spendable"])
        LedgerEntry.objects.filter(customer=source, account=account).update(customer=ctx.customer)
        for name in TOTALS:
            setattr(src, name, 0)
        src.save()
        entry(ctx, account, src, EntryKind.MERGE_OUT, -moved["spendable"], customer=source)
    PointLot.objects.filter(customer=source).update(customer=ctx.customer)
    # The source's subledgers become the target's (a clashing ID stays with the source's row,
    # its balance and lots moved all the same).
    taken = PointAccount.objects.filter(owner=ctx.customer).values_list("code", flat=True)
    PointAccount.objects.filter(owner=source).exclude(code__in=list(taken)).update(owner=ctx.customer)
    CustomerTier.objects.filter(customer=source).delete()
    Customer.objects.filter(pk=source.pk).update(tier=None, **{total: 0 for total in TOTALS.values()})
    for total in TOTALS.values():  # the caller may save its `source` object afterwards
        setattr(source, total, 0)
    source.tier_id = None
    ctx.touched_points = True
    flush(ctx)
