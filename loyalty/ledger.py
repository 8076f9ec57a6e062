"""The points ledger: lots, balances and ledger entries. Called only by event handlers, with the
customer's row locked by the engine, so every balance change here is serialized per customer.

Handlers (events.engine.HANDLERS): point_add, point_sub, point_spend, point_unspend,
reserve_points, release_points, change_expiration, point_expire, point_activate.

Helpers for other handlers (custom events, transactions.checkout, coupons.rewards, lifecycle):
- `credit(ctx, points, account=, expires_at=, activates_at=)`  earn a lot (pending until activates_at);
- `spend(ctx, points, account=, from_reserved=False)`         spend first-expiring-first;
- `debit(ctx, points, account=)`                               subtract (lowers score and spendable);
- `reserve(ctx, points, account=)` / `release(ctx, points, account=)`;
- `earning_expiration(ctx, account)`                           the account rule's date for new points;
- `merge_into(ctx, source_customer)`                           move lots, balances and history.
Each raises InsufficientPoints / StatusForbids / ValidationError before writing anything.

Bookkeeping, per customer and account (PointBalance) and summed on the Customer row:
    earned == spendable + pending + reserved + spent + expired        (sub lowers earned and spendable)
    spendable == sum(remaining of ACTIVE lots), pending == sum(points of PENDING lots)
Lots are consumed first-expiring-first (no expiration last, then the oldest). A lot whose date has
passed stays spendable until the scheduled run (`loyalty.tasks`) registers its point_expire.

Event points (stored before the handler runs, computed by `PREPARE`): point_add and
point_unspend carry the points credited; every other ledger event carries its signed change of
spendable (spend/sub/expire/reserve negative, release/activate positive).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F

from customers.choices import CustomerStatus
from events.context import HandlerContext
from events.errors import BusinessRuleError, Conflict, InsufficientPoints, StatusForbids, ValidationError

from . import expiration
from . import ledger_sql as sql
from .accounts import all_accounts, default_account
from .models.ledger import EntryKind, LedgerEntry, LotStatus, PointAccount, PointBalance, PointLot

# PointBalance field -> Customer field (the customer's totals over all accounts)
TOTALS = {"earned": "score", "spent": "spent", "spendable": "spendable", "pending": "pending",
          "reserved": "reserved", "expired": "expired"}
SPEND_ORDER = (F("expires_at").asc(nulls_last=True), "created_at", "pk")
BATCH = 50


# ---------------------------------------------------------------------------------------------
# Event preparation: the points and expiration date stored on the event row itself.


def _positive(data) -> int:
    points = data.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise ValidationError("Attribute 'points' must be a positive whole number.", field="data.points")
    return points


def _when(data, name) -> dt.datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _rule_expiration(program, account, earned_at, now) -> dt.datetime | None:
    # The dynamic rule counts from the last activity, which is this registration.
    moment = now if account.expiration_rule == "dynamic" else earned_at
    return expiration.program_expiration(program, account, moment)


def _point_add_dates(data, account, program, now, earned_at):
    expires_at = _when(data, "expiration_date")
    activates_at = _when(data, "activation_date")
    if expires_at is None:
        expires_at = _rule_expiration(program, account, activates_at or earned_at, now)
    elif expires_at <= now and earned_at >= now:
        raise ValidationError("The expiration date must be in the future.", field="data.expiration_date")
    if activates_at is not None and expires_at is not None and expires_at <= activates_at:
        raise ValidationError("The expiration date must be after the activation date.", field="data.expiration_date")
    return expires_at, activates_at


def prepare_point_add(*, data, points, account, program, now, earned_at):
    return _positive(data), _point_add_dates(data, account, program, now, earned_at)[0]


def prepare_credit(*, data, points, account, program, now, earned_at):
    """A custom event awarding `points`: its stored expiration follows the account rule."""
    return points, (_rule_expiration(program, account, earned_at, now) if points > 0 else None)


def prepare_unspend(*, data, points, account, program, now, earned_at):
    return _positive(data), _rule_expiration(program, account, now, now)


def _negative(*, data, points, account, program, now, earned_at):
    return -_positive(data), None


def _positive_change(*, data, points, account, program, now, earned_at):
    return _positive(data), None


def _expire_points(*, data, points, account, program, now, earned_at):
    return -int(data.get("points") or 0), None


def _activate_points(*, data, points, account, program, now, earned_at):
    return int(data.get("points") or 0), None


# Action -> (points, expires_at) of the event row, computed before it is stored. Also validates,
# so bad input is refused before anything is written.
PREPARE = {
    "point_add": prepare_point_add,
    "point_sub": _negative,
    "point_spend": _negative,
    "point_unspend": prepare_unspend,
    "reserve_points": _negative,
    "release_points": _positive_change,
    "point_expire": _expire_points,
    "point_activate": _activate_points,
}


# ---------------------------------------------------------------------------------------------
# Balances and entries


def _account(ctx: HandlerContext, account: PointAccount | None) -> PointAccount:
    return account or ctx.account or default_account()


def balance(ctx: HandlerContext, account: PointAccount) -> PointBalance:
    """The customer's locked balance row for `account`, created on first use; one per event."""
    # The engine preloads the customer's rows into this cache (one query for the snapshot too).
    cache = ctx.__dict__.setdefault("_ledger_balances", {})
    row = cache.get(account.pk)
    if row is None:
        row = None
        if not ctx.result.customer_created:
            row = PointBalance.objects.select_for_update().filter(customer=ctx.customer, account=account).first()
        if row is None:
            # Safe without get_or_create: every balance write holds the customer's row lock.
            row = PointBalance.objects.create(customer=ctx.customer, account=account)
        row._dirty = False
        cache[account.pk] = row
    return row


def _change(ctx: HandlerContext, row: PointBalance, **deltas: int) -> None:
    for name, delta in deltas.items():
        setattr(row, name, getattr(row, name) + delta)
        total = TOTALS[name]
        setattr(ctx.customer, total, getattr(ctx.customer, total) + delta)
    row._dirty = True


def _entry(ctx, account, row, kind, amount, lot=None, customer=None) -> LedgerEntry:
    entry = LedgerEntry(
        event=ctx.event,
        customer=customer or ctx.customer,
        account=account,
        lot=lot,
        kind=kind,
        amount=amount,
        spendable_after=row.spendable,
        created_at=ctx.event.effective_at,
    )
    ctx.result.ledger_entries.append(entry)
    ctx.__dict__.setdefault("_ledger_unsaved", []).append(entry)
    return entry


def flush(ctx: HandlerContext) -> None:
    """Write the changed balance rows and the new ledger entries (one statement each)."""
    for row in ctx.__dict__.get("_ledger_balances", {}).values():
        if getattr(row, "_dirty", False):
            sql.update_balance(row, ctx.now)
            row._dirty = False
    unsaved = ctx.__dict__.pop("_ledger_unsaved", [])
    if unsaved:
        sql.insert_entries(unsaved)


def _settle(lot: PointLot) -> None:
    if lot.status in (LotStatus.ACTIVE, LotStatus.EXHAUSTED):
        lot.status = LotStatus.ACTIVE if lot.remaining > 0 or lot.reserved > 0 else LotStatus.EXHAUSTED


def _lots(ctx, account, **filters):
    return PointLot.objects.filter(customer=ctx.customer, account=account, **filters).order_by(*SPEND_ORDER)


def _take(ctx, account, points, *, source_filter, move) -> list[tuple[PointLot, int]]:
    """Walk lots in spend order, applying `move(lot, n)` until `points` are taken."""
    taken, seen, left = [], [], points
    while left > 0:
        batch = sql.select_lots(ctx.customer.pk, account.pk, source_filter, seen, BATCH)
        if not batch:
            raise Conflict("The points ledger is inconsistent; nothing was changed.")  # invariant broken
        for lot in batch:
            seen.append(lot.pk)
            n = move(lot, left)
            if n <= 0:
                continue
            _settle(lot)
            sql.update_lot_counts(lot)
            taken.append((lot, n))
            left -= n
            if left == 0:
                break
    return taken


def _consumed(ctx, account, taken, kind) -> None:
    for lot, n in taken:
        ctx.result.lots_consumed.append({"lot": lot.pk, "account": account.code, "points": n, "kind": kind})


# ---------------------------------------------------------------------------------------------
# Domain operations (usable by any handler)


def earning_expiration(ctx: HandlerContext, account: PointAccount | None = None) -> dt.datetime | None:
    return _rule_expiration(ctx.program, _account(ctx, account), ctx.event.effective_at, ctx.now)


_RULE = object()


def credit(ctx: HandlerContext, points: int, *, account=None, expires_at=_RULE, activates_at=None) -> PointLot:
    """Add a lot of `points` earned by ctx.event (pending until activates_at)."""
    if points <= 0:
        raise ValidationError("Points to add must be positive.", field="data.points")
    if not ctx.customer.can_earn:
        raise StatusForbids(f"A {ctx.customer.status} customer cannot earn points.", field="customer")
    account = _account(ctx, account)
    if expires_at is _RULE:
        expires_at = earning_expiration(ctx, account)
    pending = activates_at is not None and activates_at > ctx.now
    lot = PointLot(
        customer=ctx.customer, account=account, event=ctx.event, points=points,
        status=LotStatus.PENDING if pending else LotStatus.ACTIVE,
        activates_at=activates_at, expires_at=expires_at, created_at=ctx.event.effective_at,
    )
    sql.insert_lot(lot)
    row = balance(ctx, account)
    if pending:
        _change(ctx, row, earned=points, pending=points)
    else:
        _change(ctx, row, earned=points, spendable=points)
    _entry(ctx, account, row, EntryKind.PENDING if pending else EntryKind.EARN, points, lot)
    ctx.result.lots_created.append(lot)
    ctx.touched_points = True
    flush(ctx)
    return lot


def _check_spendable(row, points, what="spend"):
    if points > row.spendable:
        raise InsufficientPoints(
            f"Cannot {what} {points} points: only {row.spendable} are spendable.", field="data.points"
        )


def _use(lot, n):
    n = min(n, lot.remaining)
    lot.used += n
    return n


def spend(ctx: HandlerContext, points: int, *, account=None, from_reserved=False) -> list[tuple[PointLot, int]]:
    """Spend `points` first-expiring-first (or points reserved earlier, with from_reserved)."""
    if points <= 0:
        raise ValidationError("Points to spend must be positive.", field="data.points")
    if not ctx.customer.can_spend:
        raise StatusForbids(f"A {ctx.customer.status} customer cannot spend points.", field="customer")
    account = _account(ctx, account)
    row = balance(ctx, account)
    if from_reserved:
        if points > row.reserved:
            raise InsufficientPoints(f"Only {row.reserved} points are reserved.", field="data.points")

        def move(lot, n):
            n = min(n, lot.reserved)
            lot.reserved -= n
            lot.used += n
            return n

        taken = _take(ctx, account, points, source_filter=sql.RESERVED_SQL, move=move)
        for lot, n in taken:
            _change(ctx, row, reserved=-n, spent=n)
            _entry(ctx, account, row, EntryKind.SPEND, 0, lot)
    else:
        _check_spendable(row, points)
        taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=_use)
        for lot, n in taken:
            _change(ctx, row, spendable=-n, spent=n)
            _entry(ctx, account, row, EntryKind.SPEND, -n, lot)
    _consumed(ctx, account, taken, "spend")
    flush(ctx)
    return taken


def debit(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Subtract points (a correction): lowers the score and the spendable points."""
    if points <= 0:
        raise ValidationError("Points to subtract must be positive.", field="data.points")
    account = _account(ctx, account)
    row = balance(ctx, account)
    _check_spendable(row, points, "subtract")
    taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=_use)
    for lot, n in taken:
        _change(ctx, row, spendable=-n, earned=-n)
        _entry(ctx, account, row, EntryKind.SUB, -n, lot)
    _consumed(ctx, account, taken, "sub")
    ctx.touched_points = True
    flush(ctx)
    return taken


def reserve(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Hold spendable points (a pending checkout): spendable -> reserved, lot by lot."""
    if not ctx.customer.can_spend:
        raise StatusForbids(f"A {ctx.customer.status} customer cannot reserve points.", field="customer")
    account = _account(ctx, account)
    row = balance(ctx, account)
    _check_spendable(row, points, "reserve")

    def move(lot, n):
        n = min(n, lot.remaining)
        lot.reserved += n
        return n

    taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=move)
    for lot, n in taken:
        _change(ctx, row, spendable=-n, reserved=n)
        _entry(ctx, account, row, EntryKind.RESERVE, -n, lot)
    flush(ctx)
    return taken


def release(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Give reserved points back. Points whose lot expired meanwhile expire instead."""
    account = _account(ctx, account)
    row = balance(ctx, account)
    if points > row.reserved:
        raise InsufficientPoints(f"Only {row.reserved} points are reserved.", field="data.points")

    def move(lot, n):
        n = min(n, lot.reserved)
        lot.reserved -= n
        if lot.status == LotStatus.EXPIRED:
            lot.expired_points += n
        return n

    taken = _take(ctx, account, points, source_filter=sql.RESERVED_SQL, move=move)
    for lot, n in taken:
        if lot.status == LotStatus.EXPIRED:
            _change(ctx, row, reserved=-n, expired=n)
            _entry(ctx, account, row, EntryKind.RELEASE, 0, lot)
        else:
            _change(ctx, row, reserved=-n, spendable=n)
            _entry(ctx, account, row, EntryKind.RELEASE, n, lot)
    flush(ctx)
    return taken


# ---------------------------------------------------------------------------------------------
# Handlers


def point_add(ctx: HandlerContext) -> None:
    points = _positive(ctx.data)
    expires_at, activates_at = _point_add_dates(
        ctx.data, _account(ctx, None), ctx.program, ctx.now, ctx.event.effective_at
    )
    credit(ctx, points, expires_at=expires_at, activates_at=activates_at)


def point_sub(ctx: HandlerContext) -> None:
    if ctx.customer.status == CustomerStatus.OPTED_OUT:
        raise StatusForbids("An opted-out customer has no points.", field="customer")
    debit(ctx, _positive(ctx.data))


def point_spend(ctx: HandlerContext) -> None:
    spend(ctx, _positive(ctx.data))


def point_unspend(ctx: HandlerContext) -> None:
    """Give back spent points as a new lot (expiring by the account rule from now)."""
    points = _positive(ctx.data)
    if ctx.customer.status == CustomerStatus.OPTED_OUT:
        raise StatusForbids("An opted-out customer has no points.", field="customer")
    account = _account(ctx, None)
    row = balance(ctx, account)
    if points > row.spent:
        raise BusinessRuleError(f"Cannot give back {points} points: only {row.spent} were spent.", field="data.points")
    spend_event = ctx.data.get("spend_event")
    if spend_event:
        from events.models import Event

        spent = Event.objects.filter(pk=spend_event, customer=ctx.customer, action="point_spend").values_list(
            "points", flat=True
        ).first()
        if spent is None:
            raise ValidationError("No point_spend event of this customer has that ID.", field="data.spend_event")
        if points > -spent:
            raise BusinessRuleError(f"That spend took {-spent} points.", field="data.points")
    lot = PointLot(
        customer=ctx.customer, account=account, event=ctx.event, points=points, status=LotStatus.ACTIVE,
        expires_at=_rule_expiration(ctx.program, account, ctx.now, ctx.now), created_at=ctx.event.effective_at,
    )
    lot.save(force_insert=True)
    _change(ctx, row, spent=-points, spendable=points)
    _entry(ctx, account, row, EntryKind.UNSPEND, points, lot)
    ctx.result.lots_created.append(lot)
    flush(ctx)


def reserve_points(ctx: HandlerContext) -> None:
    reserve(ctx, _positive(ctx.data))


def release_points(ctx: HandlerContext) -> None:
    release(ctx, _positive(ctx.data))


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
    from events.immutability import Change, allow
    from events.models import Event

    ids = _lot_ids(ctx)
    new_date = _when(ctx.data, "expiration_date")
    lots = list(PointLot.objects.filter(customer=ctx.customer, pk__in=ids))
    if len(lots) != len(ids):
        raise ValidationError("Some lots do not belong to this customer.", field="data.lots")
    for lot in lots:
        if lot.status not in (LotStatus.ACTIVE, LotStatus.PENDING):
            raise ValidationError(f"Lot {lot.pk} is {lot.status}; its expiration cannot change.", field="data.lots")
        if lot.status == LotStatus.PENDING and lot.activates_at and new_date <= lot.activates_at:
            raise ValidationError("The expiration date must be after the activation date.", field="data.expiration_date")
    PointLot.objects.filter(pk__in=ids).update(expires_at=new_date)
    with allow(Change.EXPIRATION):
        Event.objects.filter(pk__in={lot.event_id for lot in lots}).update(expires_at=new_date)
    ctx.result.extra["lots_changed"] = ids
    ctx.result.extra["expiration_date"] = new_date.isoformat()


def point_expire(ctx: HandlerContext) -> None:
    """Internal (loyalty.tasks): expire the due lots named in data.lots, each exactly once."""
    account = _account(ctx, None)
    due = _lots(ctx, account, status=LotStatus.ACTIVE, expires_at__lte=ctx.now)
    if ctx.data.get("lots"):
        due = due.filter(pk__in=_lot_ids(ctx))
    row = balance(ctx, account)
    total = 0
    for lot in due:
        n = lot.remaining
        lot.expired_points += n
        lot.status = LotStatus.EXPIRED
        lot.save(update_fields=["expired_points", "status"])
        _change(ctx, row, spendable=-n, expired=n)
        _entry(ctx, account, row, EntryKind.EXPIRE, -n, lot)
        ctx.result.lots_consumed.append({"lot": lot.pk, "account": account.code, "points": n, "kind": "expire"})
        total += n
    if total != int(ctx.data.get("points") or 0):
        # The event row already carries the points the caller counted under this same lock.
        raise Conflict("The lots to expire changed; run the expiration again.")
    flush(ctx)


def point_activate(ctx: HandlerContext) -> None:
    """Internal (loyalty.tasks): pending lots whose activation date has come become spendable."""
    account = _account(ctx, None)
    due = _lots(ctx, account, status=LotStatus.PENDING, activates_at__lte=ctx.now)
    if ctx.data.get("lots"):
        due = due.filter(pk__in=_lot_ids(ctx))
    row = balance(ctx, account)
    total = 0
    for lot in due:
        lot.status = LotStatus.ACTIVE
        lot.save(update_fields=["status"])
        _change(ctx, row, pending=-lot.points, spendable=lot.points)
        _entry(ctx, account, row, EntryKind.ACTIVATE, lot.points, lot)
        total += lot.points
    if total != int(ctx.data.get("points") or 0):
        raise Conflict("The lots to activate changed; run the activation again.")
    flush(ctx)


# ---------------------------------------------------------------------------------------------
# Engine hooks


def after_event(ctx: HandlerContext) -> None:
    """Any registered action is activity: push dynamic expiration dates (no query without such accounts)."""
    if ctx.event.source == "system" or ctx.customer.status == CustomerStatus.OPTED_OUT:
        return
    dynamic = [a for a in all_accounts() if a.expiration_rule == "dynamic"]
    if dynamic:
        expiration.push_dynamic_expiration(ctx.customer, dynamic, ctx.program, ctx.now)


def merge_into(ctx: HandlerContext, source) -> None:
    """Move every lot, balance figure and ledger line of `source` to ctx.customer (locked).

    The merge handler locks the source after the target; balances of the source become zero.
    """
    from customers.models import Customer
    from loyalty.models import CustomerTier

    Customer.objects.select_for_update().filter(pk=source.pk).first()  # usually locked already
    if source.pk == ctx.customer.pk:
        raise ValidationError("A customer cannot be merged into itself.", field="data.source")
    for src in PointBalance.objects.select_for_update().filter(customer=source).order_by("account_id"):
        account = next(a for a in all_accounts() if a.pk == src.account_id)
        row = balance(ctx, account)
        moved = {name: getattr(src, name) for name in TOTALS}
        _change(ctx, row, **moved)
        _entry(ctx, account, row, EntryKind.MERGE_IN, moved["spendable"])
        LedgerEntry.objects.filter(customer=source, account=account).update(customer=ctx.customer)
        for name in TOTALS:
            setattr(src, name, 0)
        src.save()
        _entry(ctx, account, src, EntryKind.MERGE_OUT, -moved["spendable"], customer=source)
    PointLot.objects.filter(customer=source).update(customer=ctx.customer)
    CustomerTier.objects.filter(customer=source).delete()
    Customer.objects.filter(pk=source.pk).update(tier=None, **{total: 0 for total in TOTALS.values()})
    for total in TOTALS.values():  # the caller may save its `source` object afterwards
        setattr(source, total, 0)
    source.tier_id = None
    ctx.touched_points = True
    flush(ctx)
