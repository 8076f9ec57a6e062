"""Coupons: assignment, redemption and the console's row actions, as event handlers (000 "Coupons").

Each change is an event on the customer who holds the coupon (source, admin user and reason are
on the event). The coupon row is locked (SELECT ... FOR UPDATE) after the customer row the engine
locked, so concurrent redemptions of one code queue up and the usage limit is never exceeded.
Expiration is a date: a coupon whose date has passed is refused as expired and shown so by
`expire_due`, which the periodic task runs.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from django.db.models import Q

from customers.models import Customer
from loyalty.bounds import is_digits
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, MissingParameter, NotFound, ValidationError

from .choices import REDEEMABLE, CouponStatus, CouponType
from .models import Coupon, CouponPool, CouponRedemption
from .pool_config import expiration_after

C = CouponStatus
CODE = "data.code"
CENT = Decimal("0.01")


def lock(code: str) -> Coupon:
    """The coupon with this code, whatever its letter case, row-locked."""
    coupon = Coupon.objects.with_code(code).select_for_update(of=("self",)).select_related("pool").first()
    if coupon is None:
        raise NotFound(f"Coupon {code!r} does not exist.", field=CODE)
    return coupon


def _code(ctx: HandlerContext) -> str:
    code = ctx.data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise MissingParameter("Missing required attribute 'code'.", field=CODE)
    return code.strip()


def _owned(ctx: HandlerContext, coupon: Coupon) -> Coupon:
    if coupon.customer_id != ctx.customer.pk:
        raise Conflict(f"Coupon {coupon.code!r} is not this customer's.", field=CODE)
    return coupon


def expiry_for(pool: CouponPool, now: dt.datetime) -> dt.datetime | None:
    """When a coupon of `pool` assigned at `now` expires: the earliest of the pool's end date,
    `validity_days` and `expiration_time` (e.g. "2 months", counted in the program's time zone);
    None when none is set."""
    dates = [pool.valid_until] if pool.valid_until else []
    if pool.validity_days:
        dates.append(now + dt.timedelta(days=pool.validity_days))
    if pool.expiration_time:
        dates.append(expiration_after(pool.expiration_time, now))
    return min(dates) if dates else None


def _is_expired(coupon: Coupon, now: dt.datetime) -> bool:
    return coupon.status == C.EXPIRED or (coupon.expires_at is not None and coupon.expires_at <= now)


def _give(ctx: HandlerContext, coupon: Coupon) -> Coupon:
    coupon.customer = ctx.customer
    coupon.status = C.CLAIMED
    coupon.claimed_at = ctx.now
    coupon.expires_at = expiry_for(coupon.pool, ctx.now)
    if coupon.pool.type == CouponType.GIFT_CARD:
        coupon.balance = coupon.face_value
    coupon.save()
    ctx.result.extra.setdefault("coupons", []).append(coupon)
    return coupon


def assign_from_pool(ctx: HandlerContext, pool: CouponPool) -> Coupon:
    """Give the customer the next free coupon of `pool`; concurrent claims skip each other's rows."""
    if not pool.active:
        raise BusinessRuleError(f"Coupon pool {pool.name!r} is not active.", field="data.pool")
    if pool.aggregated:
        held = _live_coupon_of(ctx, pool)
        if held is not None:
            return _aggregate(ctx, held)
    coupon = (
        Coupon.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("pool")
        .filter(pool=pool, status=C.UNASSIGNED, customer__isnull=True)
        .order_by("pk")
        .first()
    )
    if coupon is None:
        raise BusinessRuleError(f"Coupon pool {pool.name!r} has no coupons left.", field="data.pool")
    return _give(ctx, coupon)


def _live_coupon_of(ctx: HandlerContext, pool: CouponPool) -> Coupon | None:
    """The customer's newest coupon of `pool` that can still be redeemed, row-locked."""
    coupons = (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("pool")
        .filter(pool=pool, customer=ctx.customer, status__in=(C.CLAIMED, C.TRANSFERRED))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ctx.now))
        .order_by("-pk")
    )
    return coupons.first()


def _aggregate(ctx: HandlerContext, coupon: Coupon) -> Coupon:
    """An aggregated pool issues the same code again: amount and gift-card coupons grow by the
    pool's value (a gift card's balance too); a percentage or free-shipping coupon is handed out
    as it is. The customer holds one code per aggregated pool."""
    pool = coupon.pool
    if pool.type in (CouponType.AMOUNT, CouponType.GIFT_CARD):
        coupon.value = coupon.face_value + pool.value
        if pool.type == CouponType.GIFT_CARD:
            coupon.balance = (coupon.balance if coupon.balance is not None else Decimal("0")) + pool.value
        coupon.save(update_fields=["value", "balance"])
    ctx.result.extra.setdefault("coupons", []).append(coupon)
    return coupon


# --- handlers ---------------------------------------------------------------------------------


def coupon_assign(ctx: HandlerContext) -> None:
    """Assign a coupon: a named unassigned code (data.code) or the next one of a pool (data.pool)."""
    if ctx.data.get("code"):
        coupon = lock(_code(ctx))
        if coupon.status != C.UNASSIGNED or coupon.customer_id is not None:
            raise Conflict(f"Coupon {coupon.code!r} is already assigned.", field=CODE)
        _give(ctx, coupon)
        return
    pool_ref = ctx.data.get("pool")
    if pool_ref in (None, ""):
        raise MissingParameter("Name a coupon (code) or a coupon pool (pool).", field="data.pool")
    pool = CouponPool.objects.filter(pk=int(pool_ref) if is_digits(pool_ref) else -1).first()
    if pool is None:
        raise NotFound(f"Coupon pool {pool_ref!r} does not exist.", field="data.pool")
    assign_from_pool(ctx, pool)


def refusal_of(
    coupon: Coupon, ctx: HandlerContext, total: Decimal | None = None
) -> tuple[str, BusinessRuleError] | None:
    """Why `coupon` cannot be redeemed by ctx.customer now: (stable warning code, the error), or None.

    `total` is the purchase total of the checkout redeeming it (None outside a checkout: the pool's
    purchase minimum is then the shop's to check). The codes are those of a checkout's `warnings`
    (docs/dates-and-bounds.md, "Coupons")."""
    name = f"Coupon {coupon.code!r}"
    gift = coupon.pool.type == CouponType.GIFT_CARD
    if coupon.customer_id not in (None, ctx.customer.pk):
        return "coupon_not_owned", Conflict(f"{name} is not this customer's.", field=CODE)
    if coupon.status == C.INVALID:
        return "coupon_invalid", BusinessRuleError(f"{name} is invalid.", field=CODE)
    if _is_expired(coupon, ctx.now):
        return "coupon_expired", BusinessRuleError(f"{name} has expired.", field=CODE)
    if coupon.pool.valid_from and ctx.now < coupon.pool.valid_from:
        return "coupon_not_yet_valid", BusinessRuleError(f"{name} is not valid yet.", field=CODE)
    if gift and (coupon.status == C.REDEEMED or (coupon.balance is not None and coupon.balance <= 0)):
        # A gift card has a balance, not a use count.
        return "gift_card_empty", BusinessRuleError(
            f"Gift card {coupon.code!r} has no balance left.", field=CODE
        )
    if coupon.status == C.REDEEMED or (not gift and coupon.usages >= coupon.pool.usage_limit):
        return "coupon_used_up", BusinessRuleError(
            f"{name} is used up ({coupon.usages} of {coupon.pool.usage_limit} uses).", field=CODE
        )
    if coupon.status not in REDEEMABLE:
        return "coupon_not_redeemable", BusinessRuleError(f"{name} is {coupon.status}.", field=CODE)
    minimum = coupon.pool.purchase_minimum
    if total is not None and minimum is not None and total < minimum:
        return "coupon_purchase_minimum", BusinessRuleError(
            f"{name} needs a purchase of at least {minimum}; this one is {total}.", field=CODE
        )
    return None


def redeem(ctx: HandlerContext, code: str, *, amount=None, transaction_id: str = "") -> Coupon:
    """Use a coupon once (or take `amount` off a gift card's balance)."""
    coupon = lock(code)
    refusal = refusal_of(coupon, ctx)
    if refusal is not None:
        raise refusal[1]
    gift = coupon.pool.type == CouponType.GIFT_CARD
    if coupon.customer_id is None:
        coupon.customer = ctx.customer
        coupon.claimed_at = ctx.now
        coupon.status = C.CLAIMED
    used = None
    if gift:
        balance = coupon.balance if coupon.balance is not None else coupon.face_value
        used = balance if amount in (None, "") else _amount(amount)
        if used <= 0 or used > balance:
            raise BusinessRuleError(
                f"Gift card {coupon.code!r} has a balance of {balance}; {used} cannot be redeemed.",
                field="data.amount",
            )
        smallest = coupon.pool.minimum_redemption_value
        if smallest is not None and used < smallest and used < balance:
            raise BusinessRuleError(
                f"Gift card {coupon.code!r}: a redemption takes at least {smallest}.", field="data.amount"
            )
        coupon.balance = balance - used
        if coupon.balance == 0:
            coupon.status = C.REDEEMED
        elif coupon.pool.minimum_value is not None and coupon.balance < coupon.pool.minimum_value:
            coupon.status = C.INVALID  # the reference: below the pool's minimum value a card is invalidated
    coupon.usages += 1
    if not gift and coupon.usages >= coupon.pool.usage_limit:
        coupon.status = C.REDEEMED
    coupon.redeemed_at = ctx.now
    coupon.save()
    CouponRedemption.objects.create(
        coupon=coupon, event=ctx.event, amount=used, transaction_id=transaction_id, created_at=ctx.now
    )
    ctx.result.extra.setdefault("coupons", []).append(coupon)
    return coupon


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValidationError("amount must be a number.", field="data.amount") from None
    if not amount.is_finite():
        raise ValidationError("amount must be a number.", field="data.amount")
    return amount.quantize(Decimal("0.01"))


def coupon_redeem(ctx: HandlerContext) -> None:
    redeem(
        ctx,
        _code(ctx),
        amount=ctx.data.get("amount"),
        transaction_id=str(ctx.data.get("transaction_id") or ""),
    )


def unredeem(ctx: HandlerContext, code: str) -> Coupon:
    """Undo the latest redemption of a coupon."""
    coupon = _owned(ctx, lock(code))
    last = coupon.redemptions.filter(undone_at=None).order_by("-pk").first()
    if last is None:
        raise BusinessRuleError(f"Coupon {coupon.code!r} has no redemption to undo.", field=CODE)
    last.undone_at = ctx.now
    last.save(update_fields=["undone_at"])
    coupon.usages = max(coupon.usages - 1, 0)
    if last.amount is not None:  # what partial refunds have not given back yet
        coupon.balance = (coupon.balance or Decimal("0")) + last.amount - last.returned
    if coupon.status == C.REDEEMED:
        coupon.status = C.TRANSFERRED if coupon.transferred_from_id else C.CLAIMED
    if coupon.usages == 0:
        coupon.redeemed_at = None
    coupon.save()
    return coupon


def coupon_unredeem(ctx: HandlerContext) -> None:
    unredeem(ctx, _code(ctx))


def _child(ctx: HandlerContext, action: str, data: dict, transaction_id: str) -> HandlerContext:
    event = ctx.emit(action, data=data, parent=ctx.event, transaction_id=transaction_id)
    return ctx.follow_up(event)


def redeem_for_checkout(ctx: HandlerContext, code: str, tx) -> dict | None:
    """A checkout that names a coupon redeems it (gift cards: up to the purchase total).

    The shop has already sold the goods: a coupon that is unknown, expired, invalid, used up or
    another customer's does not refuse the purchase. Nothing is applied to any coupon and a
    warning `{"code": <stable code>, "coupon": code, "message": ...}` is returned."""
    coupon = Coupon.objects.with_code(code).select_for_update(of=("self",)).select_related("pool").first()
    if coupon is None:
        return {"code": "coupon_not_found", "coupon": code, "message": f"Coupon {code!r} does not exist."}
    refusal = refusal_of(coupon, ctx, total=tx.total)
    if refusal is not None:
        return {"code": refusal[0], "coupon": coupon.code, "message": refusal[1].message}
    amount = None
    if coupon.pool.type == CouponType.GIFT_CARD:
        balance = coupon.balance if coupon.balance is not None else coupon.face_value
        amount = min(balance, tx.total)
        if amount <= 0:  # a purchase of 0 takes nothing off the card
            return None
        smallest = coupon.pool.minimum_redemption_value
        if smallest is not None and amount < smallest and amount < balance:
            return {
                "code": "gift_card_below_minimum_redemption",
                "coupon": coupon.code,
                "message": f"Gift card {coupon.code!r}: a redemption takes at least {smallest}.",
            }
    child = _child(
        ctx, "coupon_redeem", {"code": coupon.code, "transaction_id": tx.transaction_id}, tx.transaction_id
    )
    redeem(child, coupon.code, amount=amount, transaction_id=tx.transaction_id)
    return None


def _open_redemptions(tx):
    return (
        CouponRedemption.objects.filter(transaction_id=tx.transaction_id, undone_at=None)
        .filter(coupon__in=Coupon.objects.with_codes(tx.coupon_codes))
        .select_related("coupon")
        .order_by("pk")
    )


def _return(ctx: HandlerContext, tx, redemption, amount: Decimal) -> None:
    """Give `amount` of a gift-card redemption back to the card: a coupon_unredeem follow-up."""
    coupon = lock(redemption.coupon.code)
    _child(
        ctx,
        "coupon_unredeem",
        {"code": coupon.code, "transaction_id": tx.transaction_id, "amount": str(amount)},
        tx.transaction_id,
    )
    redemption.returned += amount
    redemption.save(update_fields=["returned"])
    coupon.balance = (coupon.balance or Decimal("0")) + amount
    if coupon.status == C.REDEEMED:
        coupon.status = C.TRANSFERRED if coupon.transferred_from_id else C.CLAIMED
    coupon.save(update_fields=["balance", "status"])


def give_back_share(ctx: HandlerContext, tx, share: Decimal) -> None:
    """A partial reversal: each gift card that paid for `tx` gets back `share` (0..1, cumulative:
    refunded value / total) of what it paid, rounded down to the cent, less what earlier partial
    refunds gave back; so the sum never exceeds what it paid. Coupon uses are not given back (the
    rest of the purchase keeps its discount); the table is docs/reversals.md."""
    for redemption in _open_redemptions(tx).exclude(amount=None):
        target = min((redemption.amount * share).quantize(CENT, rounding=ROUND_DOWN), redemption.amount)
        if target > redemption.returned:
            _return(ctx, tx, redemption, target - redemption.returned)


def give_back_excess(ctx: HandlerContext, tx) -> None:
    """A checkout_update lowering the total below what gift cards paid: the cards get back the
    part above the new total (the earliest redemption keeps its part first)."""
    left = tx.total
    for redemption in _open_redemptions(tx).exclude(amount=None):
        kept = redemption.amount - redemption.returned
        stays = min(kept, left)
        left -= stays
        if kept > stays:
            _return(ctx, tx, redemption, kept - stays)


def give_back_all(ctx: HandlerContext, tx) -> None:
    """A full reversal (checkout_reject, refund, or partial refunds reaching the total): every
    coupon the checkout used gets its use back, and gift cards what they have not yet got back."""
    for code in tx.coupon_codes:
        unredeem_for_checkout(ctx, code, tx)


def unredeem_for_checkout(ctx: HandlerContext, code: str, tx) -> None:
    """A rejected checkout gives back the coupons it used."""
    redemption = (
        CouponRedemption.objects.filter(
            coupon__in=Coupon.objects.with_code(code), transaction_id=tx.transaction_id, undone_at=None
        )
        .select_related("coupon")
        .first()
    )
    if redemption is not None:
        real = redemption.coupon.code
        child = _child(
            ctx, "coupon_unredeem", {"code": real, "transaction_id": tx.transaction_id}, tx.transaction_id
        )
        unredeem(child, real)


def coupon_invalidate(ctx: HandlerContext) -> None:
    coupon = _owned(ctx, lock(_code(ctx)))
    if coupon.status == C.INVALID:
        raise Conflict(f"Coupon {coupon.code!r} is already invalid.", field=CODE)
    coupon.status = C.INVALID
    coupon.save(update_fields=["status"])


def coupon_unassign(ctx: HandlerContext) -> None:
    coupon = _owned(ctx, lock(_code(ctx)))
    if coupon.status in (C.REDEEMED, C.INVALID):
        raise BusinessRuleError(f"A {coupon.status} coupon cannot be unassigned.", field=CODE)
    coupon.customer = None
    coupon.status = C.UNASSIGNED
    coupon.claimed_at = None
    coupon.save()


def find_recipient(ctx: HandlerContext, ref: str):
    """A customer of the same environment by ID or e-mail, case-insensitively (000)."""

    ref = (ref or "").strip()
    if not ref:
        raise MissingParameter("Name the customer (ID or e-mail) to transfer the coupon to.", field="data.to")
    matches = list(
        Customer.objects.filter(environment=ctx.customer.environment, anonymized_at__isnull=True)
        .filter(Q(customer_id__iexact=ref) | Q(email__iexact=ref))
        .order_by("pk")[:3]
    )
    exact = [c for c in matches if c.customer_id == ref]
    if exact:
        return exact[0]
    if len(matches) != 1:
        raise NotFound(
            f"No single customer has the ID or e-mail {ref!r}." if matches else f"No customer {ref!r}.",
            field="data.to",
        )
    return matches[0]


def coupon_transfer(ctx: HandlerContext) -> None:
    coupon = _owned(ctx, lock(_code(ctx)))
    if coupon.status not in (C.CLAIMED, C.TRANSFERRED) or _is_expired(coupon, ctx.now):
        raise BusinessRuleError(f"A {coupon.status} coupon cannot be transferred.", field=CODE)
    target = find_recipient(ctx, str(ctx.data.get("to") or ""))
    if target.pk == ctx.customer.pk:
        raise BusinessRuleError("The coupon already belongs to this customer.", field="data.to")
    coupon.transferred_from = ctx.customer
    coupon.customer = target
    coupon.status = C.TRANSFERRED
    coupon.save()
    ctx.result.extra["transferred_to"] = target.customer_id


def coupon_expiration_change(ctx: HandlerContext) -> None:
    """Set a new expiration date; the status follows it (expired, or claimed again)."""
    coupon = _owned(ctx, lock(_code(ctx)))
    raw = ctx.data.get("expiration_date")
    coupon.expires_at = dt.datetime.fromisoformat(raw) if raw else None
    if coupon.status in (C.CLAIMED, C.TRANSFERRED, C.EXPIRED):
        if coupon.expires_at is not None and coupon.expires_at <= ctx.now:
            coupon.status = C.EXPIRED
        elif coupon.status == C.EXPIRED:
            coupon.status = C.TRANSFERRED if coupon.transferred_from_id else C.CLAIMED
    coupon.save(update_fields=["expires_at", "status"])


def expire_due(now: dt.datetime, environment: str | None = None) -> int:
    """Mark held coupons whose date has passed as expired (a display status; no points move);
    with `environment`, only coupons its customers hold."""
    held = Coupon.objects.filter(
        status__in=(C.CLAIMED, C.TRANSFERRED), expires_at__isnull=False, expires_at__lte=now
    )
    if environment is not None:
        held = held.filter(customer__environment=environment)
    return held.update(status=C.EXPIRED)
