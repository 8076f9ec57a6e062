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
The rules are documented in docs/ledger.md; the hot path's statements are in ledger_sql.py.

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
from events.models import Event
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, InsufficientPoints, StatusForbids, ValidationError
from loyalty.models.ledger import EntryKind, LedgerEntry, LotStatus, PointAccount, PointBalance, PointLot

from . import expiration, reward_dates, sql, subledgers
from .accounts import default_account

# PointBalance field -> Customer field. The customer's top-level figures are its DEFAULT account's
# (as the reference's single-account case): other accounts ("Status points") are
# shown and served separately, never added to real points.
TOTALS = {
    "earned": "score",
    "spent": "spent",
    "spendable": "spendable",
    "pending": "pending",
    "reserved": "reserved",
    "expired": "expired",
}
SPEND_ORDER = (F("expires_at").asc(nulls_last=True), "created_at", "pk")
BATCH = 50


# ---------------------------------------------------------------------------------------------
# Event preparation: the points and expiration date stored on the event row itself.

MAY_NOT_SPEND = 110003  # the reference's "customer is not allowed to spend points" (§8.4)


def _positive(data) -> int:
    points = data.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise ValidationError("Attribute 'points' must be a positive whole number.", field="data.points")
    return points


def date_attribute(data, name) -> dt.datetime | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _rule_expiration(program, account, earned_at, now) -> dt.datetime | None:
    # The dynamic rule counts from the last activity, which is this registration.
    moment = now if account.expiration_rule == "dynamic" else earned_at
    return expiration.program_expiration(program, account, moment)


def _point_add_dates(data, account, program, now, earned_at):
    """(expires_at, activates_at) of point_add: `activation_date` / `expiration_date` (absolute),
    or `reward_start` / `reward_expiration` (loyalty.ledger.reward_dates: default, immediate,
    unlimited, relative, absolute), else the account rule. Raises ValidationError."""
    for old, new in (("activation_date", "reward_start"), ("expiration_date", "reward_expiration")):
        if data.get(old) not in (None, "") and data.get(new) not in (None, ""):
            raise ValidationError(f"Give either {old} or {new}, not both.", field=f"data.{new}")
    start = reward_dates.resolve(
        data.get("reward_start"),
        kind="start",
        base=earned_at,
        time_zone=program.time_zone,
        field="data.reward_start",
    )
    activates_at = date_attribute(data, "activation_date") if start.default else start.moment
    # A relative expiration counts from when the points become active (003's table assumes
    # "the rewarded loyalty points are active immediately").
    end = reward_dates.resolve(
        data.get("reward_expiration"),
        kind="expiration",
        base=activates_at or earned_at,
        time_zone=program.time_zone,
        field="data.reward_expiration",
    )
    field = "data.expiration_date" if end.default else "data.reward_expiration"
    expires_at = date_attribute(data, "expiration_date") if end.default else end.moment
    if expires_at is None and end.default:
        expires_at = _rule_expiration(program, account, activates_at or earned_at, now)
    elif expires_at is not None and expires_at <= now and earned_at >= now:
        raise ValidationError("The expiration date must be in the future.", field=field)
    if activates_at is not None and expires_at is not None and expires_at <= activates_at:
        raise ValidationError("The expiration date must be after the activation date.", field=field)
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
    "campaign_bonus": prepare_point_add,  # the points asked; settled to what the caps paid
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


def account_for(ctx: HandlerContext, account: PointAccount | None) -> PointAccount:
    return account or ctx.account or default_account()


def balance(ctx: HandlerContext, account: PointAccount) -> PointBalance:
    """The customer's locked balance row for `account`, created on first use; one per event.

    Rows come from `ctx.balances` (the engine preloads all of the customer's rows under the
    customer lock); only a context built outside the engine reads a missing row here."""
    row = ctx.balances.get(account.pk)
    if row is None:
        if not ctx.balances_complete and not ctx.result.customer_created:
            row = (
                PointBalance.objects.select_for_update()
                .filter(customer=ctx.customer, account=account)
                .first()
            )
        if row is None:
            # Safe without get_or_create: every balance write holds the customer's row lock.
            row = PointBalance.objects.create(customer=ctx.customer, account=account)
        ctx.balances[account.pk] = row
    return row


def change(ctx: HandlerContext, row: PointBalance, **deltas: int) -> None:
    """Add `deltas` ({figure: points}) to a balance row, and to the customer's top-level figures
    when the row is the default account's."""
    default = row.account_id == default_account().pk
    for name, delta in deltas.items():
        setattr(row, name, getattr(row, name) + delta)
        if default:
            total = TOTALS[name]
            setattr(ctx.customer, total, getattr(ctx.customer, total) + delta)
    ctx.dirty_balances.add(row.account_id)


def entry(ctx, account, row, kind, amount, lot=None, customer=None) -> LedgerEntry:
    """A new ledger entry of the event (written by flush())."""
    new = LedgerEntry(
        event=ctx.event,
        customer=customer or ctx.customer,
        account=account,
        lot=lot,
        kind=kind,
        amount=amount,
        spendable_after=row.spendable,
        created_at=ctx.event.effective_at,
    )
    ctx.result.ledger_entries.append(new)
    ctx.unsaved_entries.append(new)
    return new


def flush(ctx: HandlerContext) -> None:
    """Write the changed balance rows and the new ledger entries (one statement on PostgreSQL)."""
    dirty = [ctx.balances[account_id] for account_id in sorted(ctx.dirty_balances)]
    unsaved = list(ctx.unsaved_entries)
    if dirty or unsaved:
        sql.write_changes(dirty, unsaved, ctx.now)
    ctx.dirty_balances.clear()
    ctx.unsaved_entries.clear()


def _settle(lot: PointLot) -> None:
    if lot.status in (LotStatus.ACTIVE, LotStatus.EXHAUSTED):
        lot.status = LotStatus.ACTIVE if lot.remaining > 0 or lot.reserved > 0 else LotStatus.EXHAUSTED


def lots_in_spend_order(ctx, account, **filters):
    return PointLot.objects.filter(customer=ctx.customer, account=account, **filters).order_by(*SPEND_ORDER)


def _take(ctx, account, points, *, source_filter, move) -> list[tuple[PointLot, int]]:
    """Walk lots in spend order, applying `move(lot, n)` until `points` are taken."""
    taken: list[tuple[PointLot, int]] = []
    seen: list[int] = []
    left = points
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
    return _rule_expiration(ctx.program, account_for(ctx, account), ctx.event.effective_at, ctx.now)


_RULE = object()


def credit(
    ctx: HandlerContext, points: int, *, account=None, expires_at=_RULE, activates_at=None
) -> PointLot:
    """Add a lot of `points` earned by ctx.event (pending until activates_at)."""
    if points <= 0:
        raise ValidationError("Points to add must be positive.", field="data.points")
    if not ctx.customer.can_earn:
        raise StatusForbids(f"A {ctx.customer.status} customer cannot earn points.", field="customer")
    account = account_for(ctx, account)
    if expires_at is _RULE:
        expires_at = earning_expiration(ctx, account)
    pending = activates_at is not None and activates_at > ctx.now
    lot = PointLot(
        customer=ctx.customer,
        account=account,
        event=ctx.event,
        points=points,
        status=LotStatus.PENDING if pending else LotStatus.ACTIVE,
        activates_at=activates_at,
        expires_at=expires_at,
        created_at=ctx.event.effective_at,
    )
    sql.insert_lot(lot)
    row = balance(ctx, account)
    if pending:
        change(ctx, row, earned=points, pending=points)
    else:
        change(ctx, row, earned=points, spendable=points)
    entry(ctx, account, row, EntryKind.PENDING if pending else EntryKind.EARN, points, lot)
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


def spend(
    ctx: HandlerContext, points: int, *, account=None, from_reserved=False
) -> list[tuple[PointLot, int]]:
    """Spend `points` first-expiring-first (or points reserved earlier, with from_reserved)."""
    if points <= 0:
        raise ValidationError("Points to spend must be positive.", field="data.points")
    if not ctx.customer.can_spend:
        raise StatusForbids(
            f"A {ctx.customer.status} customer cannot spend points.", field="customer", code=MAY_NOT_SPEND
        )
    account = account_for(ctx, account)
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
            change(ctx, row, reserved=-n, spent=n)
            entry(ctx, account, row, EntryKind.SPEND, 0, lot)
    else:
        _check_spendable(row, points)
        taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=_use)
        for lot, n in taken:
            change(ctx, row, spendable=-n, spent=n)
            entry(ctx, account, row, EntryKind.SPEND, -n, lot)
    _consumed(ctx, account, taken, "spend")
    flush(ctx)
    return taken


def debit(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Subtract points (a correction): lowers the score and the spendable points."""
    if points <= 0:
        raise ValidationError("Points to subtract must be positive.", field="data.points")
    account = account_for(ctx, account)
    row = balance(ctx, account)
    _check_spendable(row, points, "subtract")
    taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=_use)
    for lot, n in taken:
        change(ctx, row, spendable=-n, earned=-n)
        entry(ctx, account, row, EntryKind.SUB, -n, lot)
    _consumed(ctx, account, taken, "sub")
    ctx.touched_points = True
    flush(ctx)
    return taken


def reserve(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Hold spendable points (a pending checkout): spendable -> reserved, lot by lot."""
    if not ctx.customer.can_spend:
        raise StatusForbids(
            f"A {ctx.customer.status} customer cannot reserve points.", field="customer", code=MAY_NOT_SPEND
        )
    account = account_for(ctx, account)
    row = balance(ctx, account)
    _check_spendable(row, points, "reserve")

    def move(lot, n):
        n = min(n, lot.remaining)
        lot.reserved += n
        return n

    taken = _take(ctx, account, points, source_filter=sql.SPENDABLE_SQL, move=move)
    for lot, n in taken:
        change(ctx, row, spendable=-n, reserved=n)
        entry(ctx, account, row, EntryKind.RESERVE, -n, lot)
    flush(ctx)
    return taken


def release(ctx: HandlerContext, points: int, *, account=None) -> list[tuple[PointLot, int]]:
    """Give reserved points back. Points whose lot expired meanwhile expire instead."""
    account = account_for(ctx, account)
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
            change(ctx, row, reserved=-n, expired=n)
            entry(ctx, account, row, EntryKind.RELEASE, 0, lot)
        else:
            change(ctx, row, reserved=-n, spendable=n)
            entry(ctx, account, row, EntryKind.RELEASE, n, lot)
    flush(ctx)
    return taken


# ---------------------------------------------------------------------------------------------
# Handlers


def point_add(ctx: HandlerContext) -> None:
    """Add points to the account, or to the customer's subledger `data.subledger` (created on
    the spot; `data.create_subledger` refuses an existing one)."""
    points = _positive(ctx.data)
    expires_at, activates_at = _point_add_dates(
        ctx.data, account_for(ctx, None), ctx.program, ctx.now, ctx.event.effective_at
    )
    account = None
    if ctx.data.get("subledger") not in (None, ""):
        if not ctx.customer.can_earn:
            raise StatusForbids(f"A {ctx.customer.status} customer cannot earn points.", field="customer")
        account = subledgers.subledger_account(
            ctx, create=True, must_be_new=bool(ctx.data.get("create_subledger"))
        )
    elif ctx.data.get("create_subledger"):
        raise ValidationError("Name the subledger to create.", field="data.subledger")
    credit(ctx, points, account=account, expires_at=expires_at, activates_at=activates_at)


def point_sub(ctx: HandlerContext) -> None:
    """Subtract points from the account, or from the customer's subledger `data.subledger`."""
    if ctx.customer.status == CustomerStatus.OPTED_OUT:
        raise StatusForbids("An opted-out customer has no points.", field="customer")
    account = None
    if ctx.data.get("subledger") not in (None, ""):
        account = subledgers.subledger_account(ctx, create=False)
    debit(ctx, _positive(ctx.data), account=account)


def point_spend(ctx: HandlerContext) -> None:
    spend(ctx, _positive(ctx.data))


def point_unspend(ctx: HandlerContext) -> None:
    """Give back spent points as a new lot (expiring by the account rule from now)."""
    points = _positive(ctx.data)
    if ctx.customer.status == CustomerStatus.OPTED_OUT:
        raise StatusForbids("An opted-out customer has no points.", field="customer")
    account = account_for(ctx, None)
    row = balance(ctx, account)
    if points > row.spent:
        raise BusinessRuleError(
            f"Cannot give back {points} points: only {row.spent} were spent.",
            field="data.points",
            code=112900,  # the reference's "cannot unspend more than spent"
        )
    spend_event = ctx.data.get("spend_event")
    if spend_event:
        spent = (
            Event.objects.filter(pk=spend_event, customer=ctx.customer, action="point_spend")
            .values_list("points", flat=True)
            .first()
        )
        if spent is None:
            raise ValidationError(
                "No point_spend event of this customer has that ID.", field="data.spend_event"
            )
        if points > -spent:
            raise BusinessRuleError(f"That spend took {-spent} points.", field="data.points")
    lot = PointLot(
        customer=ctx.customer,
        account=account,
        event=ctx.event,
        points=points,
        status=LotStatus.ACTIVE,
        expires_at=_rule_expiration(ctx.program, account, ctx.now, ctx.now),
        created_at=ctx.event.effective_at,
    )
    lot.save(force_insert=True)
    change(ctx, row, spent=-points, spendable=points)
    entry(ctx, account, row, EntryKind.UNSPEND, points, lot)
    ctx.result.lots_created.append(lot)
    flush(ctx)


def reserve_points(ctx: HandlerContext) -> None:
    reserve(ctx, _positive(ctx.data))


def release_points(ctx: HandlerContext) -> None:
    release(ctx, _positive(ctx.data))
