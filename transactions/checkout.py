"""The checkout lifecycle (000 "Transactions"), applied by event handlers inside register_event.

    (unknown ID) --checkout_update--> draft --checkout--> pending --checkout_accept--> accepted
                 --checkout---------------------------->  accepted (checkout-accept module off)
    pending  --checkout_reject--> rejected        accepted --checkout_reject--> rejected
    accepted --refund / partial_refund / refund_item (to the full value)--> refunded

Every refused transition raises an EngineError before anything is written (the engine rolls the
event back too), so a refusal changes nothing. Points earned while a transaction is pending are
kept on the transaction (`points_earned`, `points_credited=False`) and credited to the ledger on
accept; burned points are spent at checkout. Lock order: the customer (engine), then the
transaction row, then coupons.

Guest checkouts (001) have no customer: the engine's guest case calls `guest_checkout`, which stores
the transaction with customer NULL; `checkout_claim`, or `claim_guest_transactions` at enrollment,
hands them to a customer and credits their points then.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.db import IntegrityError, models, transaction

from coupons import coupons as coupon_ops
from events.choices import EventSource
from loyalty import configcache
from loyalty.bounds import POINTS_MAX
from loyalty.context import GuestContext, HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, NotFound, ValidationError
from loyalty.ledger.accounts import resolve_account
from referrals import referrals

from . import earning, points, stats
from .choices import EarningMode, TransactionStatus
from .items import coupon_codes, parse_items, parse_money
from .models import EarningRule, Transaction, TransactionItem

S = TransactionStatus
TX_FIELD = "data.transaction_id"


# --- finding and locking ----------------------------------------------------------------------


def _tid(ctx: HandlerContext | GuestContext) -> str:
    return str(ctx.data["transaction_id"])  # at most 128 characters: events.definitions


def find_optional(ctx: HandlerContext) -> Transaction | None:
    """The event's transaction, row-locked, or None; it must belong to the event's customer."""
    tx = (
        Transaction.objects.select_for_update()
        .filter(environment=ctx.event.environment, transaction_id=_tid(ctx))
        .first()
    )
    if tx is not None and tx.customer_id != ctx.customer.pk:
        if tx.customer_id is None:
            raise Conflict(
                f"Transaction {_tid(ctx)!r} is a guest transaction; claim it with checkout_claim first.",
                field=TX_FIELD,
            )
        raise Conflict(f"Transaction {_tid(ctx)!r} belongs to another customer.", field=TX_FIELD)
    return tx


def find_locked(ctx: HandlerContext) -> Transaction:
    """As find_optional, but an unknown ID is a 404."""
    tx = find_optional(ctx)
    if tx is None:
        raise NotFound(f"Transaction {_tid(ctx)!r} does not exist.", field=TX_FIELD)
    return tx


def _create(
    ctx: HandlerContext | GuestContext, status: str, *, customer=None, guest: str = ""
) -> Transaction:
    tx = Transaction(
        environment=ctx.event.environment,
        transaction_id=_tid(ctx),
        customer=customer,
        guest=guest,
        account=ctx.account or resolve_account(None, multi_accounts=False),
        status=status,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    try:
        with transaction.atomic():
            tx.save(force_insert=True)
    except IntegrityError:
        # A concurrent checkout with the same ID committed first.
        raise Conflict(
            f"Transaction {_tid(ctx)!r} already exists.", field=TX_FIELD, code=TX_ALREADY_USED
        ) from None
    return tx


# The reference's numbers (reference-behaviour.md §8.4).
TX_ALREADY_USED = 5003  # transaction ID already used
REFUND_NOT_ACCEPTED = 112201  # only accepted transactions can be refunded


def refuse(tx: Transaction, action: str, allowed: tuple[str, ...]) -> None:
    """Raise a clear error unless tx.status is one of `allowed`."""
    if tx.status in allowed:
        return
    name = f"Transaction {tx.transaction_id!r}"
    if action == "checkout_accept" and tx.status == S.ACCEPTED:
        raise Conflict(f"{name} is already accepted.", field=TX_FIELD)
    if action == "checkout_reject" and tx.status == S.REJECTED:
        raise Conflict(f"{name} is already rejected.", field=TX_FIELD)
    if action in ("refund", "partial_refund", "refund_item") and tx.status == S.REFUNDED:
        raise Conflict(f"{name} is already refunded.", field=TX_FIELD)
    if tx.status == S.DRAFT:
        raise BusinessRuleError(f"{name} is a draft; send its checkout first.", field=TX_FIELD)
    if action in ("refund", "partial_refund", "refund_item"):
        raise BusinessRuleError(
            f"Only accepted transactions can be refunded; {name} is {tx.status}.",
            field=TX_FIELD,
            code=REFUND_NOT_ACCEPTED,
        )
    raise BusinessRuleError(f"{name} is {tx.status}; {action} is not allowed.", field=TX_FIELD)


# --- details and points -------------------------------------------------------------------------


def _fill(ctx: HandlerContext | GuestContext, tx: Transaction, data: dict) -> list[dict]:
    """Copy the purchase details of `data` onto tx; returns the parsed items (not yet saved)."""
    items = parse_items(data.get("items"), _tid(ctx))
    if data.get("total") not in (None, ""):
        tx.total = parse_money(data["total"], "data.total")
    elif items:
        tx.total = sum((item["subtotal"] for item in items), Decimal("0"))
    for name in ("currency", "channel"):
        if data.get(name):
            value = str(data[name])
            max_length = cast(models.CharField, Transaction._meta.get_field(name)).max_length
            if max_length is not None and len(value) > max_length:  # never cut
                raise ValidationError(
                    f"Attribute {name!r} is longer than {max_length} characters.", field=f"data.{name}"
                )
            setattr(tx, name, value)
    codes = coupon_codes(data)
    if codes:
        tx.coupon_codes = codes
    known = {"transaction_id", "total", "items", "currency", "channel", "points_burned", "account", "guest"}
    tx.data = {**tx.data, **{key: value for key, value in data.items() if key not in known}}
    tx.updated_at = ctx.now
    return items


def _save_items(tx: Transaction, items: list[dict]) -> list[TransactionItem]:
    tx.items.all().delete()
    rows = [TransactionItem(transaction=tx, line=index, **item) for index, item in enumerate(items)]
    TransactionItem.objects.bulk_create(rows)
    return list(tx.items.all())


RULE_CACHE_KEY = "transactions:earning_rule:v1:{}"


def rule_for(account) -> earning.Rule | None:
    """The account's active earning rule (cached; EarningRule.save clears it)."""
    return configcache.get(
        RULE_CACHE_KEY.format(account.pk),
        lambda: earning.Rule.from_model(EarningRule.objects.filter(account=account).first()),
    )


def price(
    ctx: HandlerContext, tx: Transaction, rows: list[TransactionItem], *, save_rows: bool = True
) -> None:
    """Compute points_earned (and each line's points) for a not-yet-credited transaction.

    `rows` may be unsaved (a new checkout inserts them afterwards: save_rows=False)."""
    rule = rule_for(tx.account)
    customer = tx.customer
    first = (
        bool(rule and rule.first_purchase_bonus)
        and customer is not None
        and not (
            Transaction.objects.filter(customer=customer, status__in=(S.PENDING, S.ACCEPTED, S.REFUNDED))
            .exclude(pk=tx.pk)
            .exists()
        )
    )
    lines = [earning.Line(r.product_id, r.product_category, r.quantity, r.subtotal) for r in rows]
    result = earning.compute(rule, tx.total, lines, first_purchase=first)
    if customer is not None and not customer.can_earn:
        result = earning.Earning(line_points=tuple(0 for _ in rows))
        ctx.result.notes.append("The customer's status does not allow earning points; none were rewarded.")
    if result.points > POINTS_MAX:  # the earning rule multiplies: bound the product too (§6)
        raise ValidationError(f"This purchase would earn more than {POINTS_MAX} points.", field="data.total")
    tx.points_earned = result.points
    tx.first_purchase = bool(result.bonus)
    for row, line_points in zip(rows, result.line_points, strict=True):
        row.points = line_points
    if rule is not None and rule.mode == EarningMode.PER_ITEM:
        _emit_items(ctx, tx, rows)
    if save_rows and rows:
        TransactionItem.objects.bulk_update(rows, ["points", "item_event"])


def _emit_items(ctx: HandlerContext, tx: Transaction, rows: list[TransactionItem]) -> None:
    """One internal item event per line: `checkout_item` for a checkout, `checkout_update_item`
    for a checkout_update, whose items supersede the earlier ones (each line's `item_event` is
    the latest). data.points is what the line earns; the event's own `points` is what it
    changed (engine.settle_event_points): 0 while the transaction is pending, the accept
    credits the whole purchase."""
    action = "checkout_update_item" if ctx.event.action == "checkout_update" else "checkout_item"
    for row in rows:
        event = ctx.emit(
            action,
            data={
                "transaction_id": tx.transaction_id,
                "product_id": row.product_id,
                "product_name": row.product_name,
                "product_category": row.product_category,
                "quantity": row.quantity,
                "price": row.price,
                "subtotal": row.subtotal,
                "points": row.points,
            },
            points=row.points,
            account=tx.account,
            parent=ctx.event,
            transaction_id=tx.transaction_id,
        )
        row.item_event = event


def credit_earned(ctx: HandlerContext, tx: Transaction, rows: list[TransactionItem] | None = None) -> None:
    """Credit points_earned to the ledger once (at accept, or at checkout when accepted at once)."""
    if tx.points_credited or tx.customer is None:
        return
    rest = tx.points_earned
    if ctx.event.action == "checkout":
        for row in rows if rows is not None else tx.items.exclude(item_event=None):
            if row.item_event is not None and row.points > 0:
                # The lot belongs to the line's own checkout_item event.
                points.earn(ctx, row.points, tx.account, event=row.item_event)
                rest -= row.points
    points.earn(ctx, rest, tx.account)
    tx.points_credited = True


def _set_burned(ctx: HandlerContext, tx: Transaction, data: dict) -> None:
    if data.get("points_burned") in (None, ""):
        return
    wanted = data["points_burned"]
    if not isinstance(wanted, int) or wanted < 0:
        raise ValidationError(
            "points_burned must be a whole number of points, 0 or more.", field="data.points_burned"
        )
    if tx.status == S.PENDING:
        # While pending, burned points are only held (reserved), as the reference does; the
        # accept spends them, a reject or a lower points_burned releases them (docs/reversals.md).
        if wanted > tx.points_burned:
            points.reserve(ctx, wanted - tx.points_burned, tx.account)
        else:
            points.release(ctx, tx.points_burned - wanted, tx.account)
        tx.points_burned = wanted
    elif wanted > tx.points_burned:
        points.burn(ctx, wanted - tx.points_burned, tx.account)
        tx.points_burned = wanted
    elif wanted < tx.burned_open:
        unburn(ctx, tx, tx.burned_open - wanted)


def unburn(ctx: HandlerContext, tx: Transaction, amount: int) -> None:
    """Give back burned points through a follow-up point_unburn event."""
    amount = min(amount, tx.burned_open)
    if amount <= 0:
        return
    event = ctx.emit(
        "point_unburn",
        data={"transaction_id": tx.transaction_id, "points": amount},
        points=amount,
        account=tx.account,
        parent=ctx.event,
        transaction_id=tx.transaction_id,
    )
    points.unburn(ctx, amount, tx.account, event=event)
    tx.points_unburned += amount


def take_back(ctx: HandlerContext, tx: Transaction, amount: int) -> None:
    """Take back `amount` credited points; what the balance cannot cover is recorded as shortfall."""
    amount = min(amount, tx.points_open)
    if amount <= 0 or not tx.points_credited:
        return
    taken = points.take_back(ctx, amount, tx.account)
    tx.points_taken_back += taken
    if taken < amount:
        tx.points_shortfall += amount - taken
        ctx.result.notes.append(
            f"Refund shortfall: {amount - taken} points of transaction {tx.transaction_id!r} could not be "
            "taken back without a negative balance; recorded on the transaction."
        )


def finish(ctx: HandlerContext, tx: Transaction) -> None:
    tx.updated_at = ctx.now
    tx.save()
    if tx.customer is not None:
        stats.refresh_customer(tx.customer if tx.customer.pk != ctx.customer.pk else ctx.customer)
    ctx.result.extra["transaction"] = tx


# --- handlers ---------------------------------------------------------------------------------


def checkout(ctx: HandlerContext) -> None:
    """A purchase. `historical` (imports only: dataio's historical transactions model): a past
    purchase, stored accepted at its effective time with its items and counted in the purchase
    statistics, that earns nothing, burns nothing, redeems no coupon or referral code, and never
    touches an existing transaction (a draft with the same ID included)."""
    historical = bool(ctx.data.get("historical"))
    if historical and ctx.source != EventSource.IMPORT:
        raise ValidationError("Only imports may store historical purchases.", field="data.historical")
    tx = (
        Transaction.objects.select_for_update()
        .filter(environment=ctx.event.environment, transaction_id=_tid(ctx))
        .first()
    )
    if tx is not None and (historical or tx.status != S.DRAFT or tx.customer_id != ctx.customer.pk):
        raise Conflict(f"Transaction {_tid(ctx)!r} already exists.", field=TX_FIELD, code=TX_ALREADY_USED)
    if historical:
        _historical(ctx)
        return
    status = S.PENDING if ctx.program.checkout_accept else S.ACCEPTED
    new = tx is None
    if tx is None:
        # The hot path: everything is computed first, then one insert each for the
        # transaction and its items (no update afterwards).
        tx = Transaction(
            environment=ctx.event.environment,
            transaction_id=_tid(ctx),
            customer=ctx.customer,
            account=ctx.account or resolve_account(None, multi_accounts=False),
            created_at=ctx.now,
        )
    tx.status = status
    # The purchase counts from the event's effective time (effective_timestamp backdates it, as
    # it does its points' expiration and tier window); registration stays now.
    tx.checkout_at = ctx.event.effective_at
    tx.checkout_event = ctx.event
    if status == S.ACCEPTED:
        tx.accepted_at = ctx.now
    items = _fill(ctx, tx, ctx.data)
    rows = [TransactionItem(line=index, **item) for index, item in enumerate(items)]
    _set_burned(ctx, tx, ctx.data)
    price(ctx, tx, rows, save_rows=False)
    if status == S.ACCEPTED:
        credit_earned(ctx, tx, rows)
    # A coupon that cannot be applied never refuses the purchase (the goods are sold): it is a
    # warning in the response and on the transaction, and nothing is applied to it (§3).
    warnings = [w for w in (coupon_ops.redeem_for_checkout(ctx, code, tx) for code in tx.coupon_codes) if w]
    tx.warnings = warnings
    ctx.result.warnings.extend(warnings)
    tx.updated_at = ctx.now
    if new:
        try:
            tx.save(force_insert=True)
        except IntegrityError:
            # A concurrent checkout with the same ID committed first; the event rolls back whole.
            raise Conflict(
                f"Transaction {_tid(ctx)!r} already exists.", field=TX_FIELD, code=TX_ALREADY_USED
            ) from None
    else:
        tx.save()
        tx.items.all().delete()
    for row in rows:
        row.transaction = tx
    TransactionItem.objects.bulk_create(rows)
    if new:
        stats.add_purchase(ctx.customer, tx, rows)
    else:
        stats.refresh_customer(ctx.customer)
    referrals.redeem_at_checkout(ctx, tx)  # a friend's first purchase redeems a referral code
    ctx.result.extra["transaction"] = tx


def _historical(ctx: HandlerContext) -> None:
    for name in ("points_burned", "coupon_code", "coupon_codes", "referral_code"):
        if ctx.data.get(name) not in (None, "", []):
            raise ValidationError(
                f"A historical purchase cannot carry {name!r} (it changes nothing but history).",
                field=f"data.{name}",
            )
    tx = Transaction(
        environment=ctx.event.environment,
        transaction_id=_tid(ctx),
        customer=ctx.customer,
        account=ctx.account or resolve_account(None, multi_accounts=False),
        created_at=ctx.now,
        status=S.ACCEPTED,
        checkout_at=ctx.event.effective_at,
        accepted_at=ctx.event.effective_at,
        checkout_event=ctx.event,
        points_credited=True,  # nothing to credit, ever: points_earned stays 0
    )
    items = _fill(ctx, tx, {k: v for k, v in ctx.data.items() if k != "historical"})
    rows = [TransactionItem(line=index, **item) for index, item in enumerate(items)]
    try:
        with transaction.atomic():
            tx.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            f"Transaction {_tid(ctx)!r} already exists.", field=TX_FIELD, code=TX_ALREADY_USED
        ) from None
    for row in rows:
        row.transaction = tx
    TransactionItem.objects.bulk_create(rows)
    stats.add_purchase(ctx.customer, tx, rows)
    ctx.result.extra["transaction"] = tx


def checkout_update(ctx: HandlerContext) -> None:
    """Change the details of a draft or pending transaction (an unknown ID makes a draft)."""
    tx = find_optional(ctx)
    if tx is None:
        tx = _create(ctx, S.DRAFT, customer=ctx.customer)
    refuse(tx, "checkout_update", (S.DRAFT, S.PENDING))
    items = _fill(ctx, tx, ctx.data)
    rows = _save_items(tx, items) if ctx.data.get("items") not in (None, "") else list(tx.items.all())
    if tx.status == S.PENDING:
        _set_burned(ctx, tx, ctx.data)
        price(ctx, tx, rows)
        coupon_ops.give_back_excess(ctx, tx)  # a lower total: gift cards get the excess back
    finish(ctx, tx)


def checkout_accept(ctx: HandlerContext) -> None:
    tx = find_locked(ctx)
    refuse(tx, "checkout_accept", (S.PENDING,))
    tx.status = S.ACCEPTED
    tx.accepted_at = ctx.now
    points.spend_reserved(ctx, tx.points_burned, tx.account)  # held since the checkout
    credit_earned(ctx, tx)
    finish(ctx, tx)


def checkout_reject(ctx: HandlerContext) -> None:
    """Reject a pending transaction, or one accepted whose whole purchase came back (002)."""
    tx = find_locked(ctx)
    refuse(tx, "checkout_reject", (S.PENDING, S.ACCEPTED))
    take_back(ctx, tx, tx.points_open)
    if tx.status == S.PENDING:  # burned points were only held: release them
        points.release(ctx, tx.burned_open, tx.account)
        tx.points_unburned = tx.points_burned
    else:
        unburn(ctx, tx, tx.burned_open)
    coupon_ops.give_back_all(ctx, tx)
    tx.status = S.REJECTED
    tx.closed_at = ctx.now
    finish(ctx, tx)


def checkout_claim(ctx: HandlerContext) -> None:
    """A guest transaction becomes this customer's; its points are credited if it is accepted."""
    tx = (
        Transaction.objects.select_for_update()
        .filter(environment=ctx.event.environment, transaction_id=_tid(ctx))
        .first()
    )
    if tx is None:
        raise NotFound(f"Transaction {_tid(ctx)!r} does not exist.", field=TX_FIELD)
    if tx.customer_id == ctx.customer.pk:
        raise Conflict(f"Transaction {_tid(ctx)!r} is already this customer's.", field=TX_FIELD)
    if tx.customer_id is not None:
        raise Conflict(f"Transaction {_tid(ctx)!r} belongs to another customer.", field=TX_FIELD)
    claim(ctx, tx)


def claim(ctx: HandlerContext, tx: Transaction) -> None:
    tx.customer = ctx.customer
    if tx.status in (S.PENDING, S.ACCEPTED):
        price(ctx, tx, list(tx.items.all()))
    if tx.status == S.ACCEPTED:
        credit_earned(ctx, tx)
    finish(ctx, tx)


def claim_guest_transactions(ctx: HandlerContext) -> list[Transaction]:
    """At enrollment: claim the guest transactions registered under this customer's e-mail or ID.

    Each claim is a follow-up checkout_claim event. Call from the opt_in handler."""
    customer = ctx.customer
    keys = {customer.customer_id}
    if customer.email:
        keys.add(customer.email.strip().lower())
    guests = list(
        Transaction.objects.select_for_update()
        .filter(environment=customer.environment, customer__isnull=True, guest__in=keys)
        .order_by("pk")
    )
    for tx in guests:
        event = ctx.emit(
            "checkout_claim",
            data={"transaction_id": tx.transaction_id, "guest": tx.guest},
            account=tx.account,
            parent=ctx.event,
            transaction_id=tx.transaction_id,
        )
        claim(ctx.follow_up(event), tx)
        ctx.touched_points = True
    return guests


def guest_identifier(value) -> str:
    """The stored form of a guest checkout's `guest` (an e-mail is case-insensitive: lower-cased)."""
    guest = str(value or "").strip()
    if not guest:
        raise ValidationError(
            "A guest checkout needs a guest identifier (e.g. an e-mail).", field="data.guest"
        )
    return guest.lower() if "@" in guest else guest


def guest_checkout(ctx: GuestContext) -> None:
    """A checkout with no customer (001): the transaction is stored with customer NULL and earns no
    points until it is claimed. Raises Conflict for a transaction ID already used."""
    if Transaction.objects.filter(environment=ctx.environment, transaction_id=_tid(ctx)).exists():
        raise Conflict(f"Transaction {_tid(ctx)!r} already exists.", field=TX_FIELD, code=TX_ALREADY_USED)
    status = S.PENDING if ctx.program.checkout_accept else S.ACCEPTED
    tx = _create(ctx, status, guest=ctx.data["guest"])
    tx.checkout_at = ctx.event.effective_at  # effective_timestamp backdates a purchase (§1)
    tx.checkout_event = ctx.event
    tx.accepted_at = ctx.now if status == S.ACCEPTED else None
    _save_items(tx, _fill(ctx, tx, ctx.data))
    tx.save()
    ctx.result.extra["transaction"] = tx


def checkout_item(ctx: HandlerContext) -> None:
    """Internal, emitted by `checkout` per line; registering it directly has no further effect."""
