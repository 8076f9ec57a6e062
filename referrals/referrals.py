"""Referral codes and their redemption (Talon.One, reference §7.3): handlers
`referral_code_create` (the advocate's event), `referral_redeem` (the friend's event) and
`referral_reward` (internal: the advocate's points, registered after the redemption commits),
plus `redeem_if_given(ctx)` which opt_in and checkout call for a `referral_code` attribute.

Rules:
- a code matches REFERRAL_CODE_RE and is unique per environment; generated ones follow
  ReferralSettings (prefix + N random characters + suffix);
- a code is valid from `start_at` to `expires_at` (empty: never expires) for `usage_limit`
  redemptions (0 = unlimited); the code row is locked while redeeming, so two friends racing for
  the last use cannot both win; a friend is referred once (a unique index), never by themself;
- at checkout a code counts only on the customer's first purchase (else it is ignored, with a note);
- the friend's points are credited in the redeeming event; the advocate's through a
  `referral_reward` event of the advocate, scheduled on commit (so the advocate's row is locked
  by its own event, never by the friend's);
- everything needs the referrals module; switching it off keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, NotFound, ValidationError
from loyalty.ledger import operations as ledger
from transactions.choices import TransactionStatus as S
from transactions.models import Transaction

from .models import REFERRAL_CODE_RE, Referral, ReferralCode, ReferralSettings

CODE_RE = re.compile(REFERRAL_CODE_RE)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_USAGE_LIMIT = 1_000_000


def _module(ctx, field="data.code") -> None:
    if not ctx.program.referrals:
        raise ValidationError("The referrals module is off.", field=field)


def check_code(code, field="data.code") -> str:
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise ValidationError("A referral code is 3 to 64 letters, digits, '_' or '-'.", field=field)
    return code


def generate_code(settings: ReferralSettings) -> str:
    return (
        settings.code_prefix
        + "".join(secrets.choice(ALPHABET) for _ in range(settings.code_length))
        + settings.code_suffix
    )


def _date(ctx, name):
    value = ctx.data.get(name)
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def referral_code_create(ctx: HandlerContext) -> None:
    """Create a referral code for ctx.customer (the advocate): data.code (else generated),
    start_date, expiry_date, usage_limit (else the settings' defaults)."""
    _module(ctx)
    settings = ReferralSettings.current()
    start = _date(ctx, "start_date")
    expires = _date(ctx, "expiry_date")
    if expires is None and settings.validity_days:
        expires = (start or ctx.now) + dt.timedelta(days=settings.validity_days)
    if start is not None and expires is not None and expires <= start:
        raise ValidationError("The expiry date must be after the start date.", field="data.expiry_date")
    if expires is not None and expires <= ctx.now:
        raise ValidationError("The expiry date must be in the future.", field="data.expiry_date")
    limit = ctx.data.get("usage_limit")
    limit = settings.usage_limit if limit in (None, "") else limit
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_USAGE_LIMIT:
        raise ValidationError(
            f"usage_limit is a whole number from 0 (unlimited) to {MAX_USAGE_LIMIT}.",
            field="data.usage_limit",
        )
    given = ctx.data.get("code")
    code = check_code(given) if given not in (None, "") else None
    for _attempt in range(10 if code is None else 1):
        candidate = code or generate_code(settings)
        check_code(candidate)
        try:
            with transaction.atomic():
                row = ReferralCode.objects.create(
                    environment=ctx.environment,
                    code=candidate,
                    advocate=ctx.customer,
                    start_at=start,
                    expires_at=expires,
                    usage_limit=limit,
                    created_at=ctx.now,
                    event=ctx.event,
                )
        except IntegrityError:
            if code is not None:
                raise Conflict(f"Referral code {code!r} exists already.", field="data.code") from None
            continue
        ctx.result.extra["referral_code"] = row.code
        return
    raise Conflict("Could not generate an unused referral code; make codes longer.", field="data.code")


def redeem(ctx: HandlerContext, code: str, *, transaction_id: str = "", field: str = "data.code") -> Referral:
    """ctx.customer (the friend) redeems `code`. Raises before writing anything it refuses."""
    _module(ctx, field)
    check_code(code, field)
    row = ReferralCode.objects.select_for_update().filter(environment=ctx.environment, code=code).first()
    if row is None:
        raise NotFound(f"No referral code {code!r}.", field=field)
    if row.advocate_id == ctx.customer.pk:
        raise BusinessRuleError("A customer cannot redeem their own referral code.", field=field)
    if row.start_at is not None and ctx.now < row.start_at:
        raise BusinessRuleError(f"Referral code {code!r} is not valid yet.", field=field)
    if row.expires_at is not None and ctx.now >= row.expires_at:
        raise BusinessRuleError(f"Referral code {code!r} has expired.", field=field)
    if row.usage_limit and row.usage_counter >= row.usage_limit:
        raise BusinessRuleError(f"Referral code {code!r} has been used up.", field=field)
    if Referral.objects.filter(friend=ctx.customer).exists():
        raise Conflict("The customer has been referred already.", field=field)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                environment=ctx.environment,
                code=row,
                advocate_id=row.advocate_id,
                friend=ctx.customer,
                transaction_id=transaction_id[:128],
                created_at=ctx.now,
                event=ctx.event,
            )
    except IntegrityError:
        raise Conflict("The customer has been referred already.", field=field) from None
    ReferralCode.objects.filter(pk=row.pk).update(usage_counter=row.usage_counter + 1)
    if ctx.customer.referrer_id is None:
        ctx.customer.referrer_id = row.advocate_id
    settings = ReferralSettings.current()
    if settings.friend_points:
        ledger.credit(ctx, settings.friend_points)
    if settings.advocate_points:
        pk = referral.pk
        transaction.on_commit(lambda: _schedule_reward(pk))
    ctx.result.extra["referral"] = {"code": code, "advocate": row.advocate.customer_id}
    return referral


def _schedule_reward(referral_pk: int) -> None:
    async_task("referrals.tasks.reward_advocate", referral_pk)


def referral_redeem(ctx: HandlerContext) -> None:
    redeem(ctx, ctx.data.get("code"), transaction_id=str(ctx.data.get("transaction_id") or ""))


def redeem_if_given(ctx: HandlerContext) -> None:
    """opt_in with `referral_code`: redeem it."""
    code = ctx.data.get("referral_code")
    if code not in (None, ""):
        redeem(ctx, code, field="data.referral_code")


def redeem_at_checkout(ctx: HandlerContext, tx) -> None:
    """checkout with `referral_code`: redeem it on the customer's first purchase, else ignore it
    (with a note). Costs nothing without a code."""
    code = ctx.data.get("referral_code")
    if code in (None, ""):
        return
    earlier = (
        Transaction.objects.filter(customer=ctx.customer, status__in=(S.PENDING, S.ACCEPTED, S.REFUNDED))
        .exclude(pk=tx.pk)
        .exists()
    )
    if earlier:
        ctx.result.notes.append("The referral code counts on a first purchase only; it was ignored.")
        return
    redeem(ctx, code, transaction_id=tx.transaction_id, field="data.referral_code")


def referral_reward(ctx: HandlerContext) -> None:
    """Internal: credit the advocate's points for one redemption (data.referral), once."""
    referral = (
        Referral.objects.select_for_update()
        .filter(pk=ctx.data.get("referral"), advocate=ctx.customer)
        .first()
    )
    if referral is None:
        raise NotFound("No such referral of this advocate.", field="data.referral")
    if referral.advocate_rewarded:
        raise Conflict("The advocate was rewarded for this referral already.", field="data.referral")
    points = ctx.data.get("points")
    if isinstance(points, int) and points > 0:
        ledger.credit(ctx, points)
    referral.advocate_rewarded = True
    referral.save(update_fields=["advocate_rewarded"])


def advocate_of(friend) -> Referral | None:
    """The referral through which `friend` (a Customer) joined, with its advocate, or None: whom a
    workflow's Referral bonus rewards when the friend's event triggers it."""
    return Referral.objects.select_related("advocate", "code").filter(friend=friend).first()


def referral_bonus(ctx: HandlerContext) -> None:
    """Referral bonus (Antavo's workflow action, reference §3 "Referral bonus"; its details are a GAP
    designed here): `data.points` for ctx.customer, the advocate, because of `data.friend`, a
    customer they referred. Workflows register it with
    `register_event(customer=advocate_of(friend).advocate, action="referral_bonus",
    data={"points": n, "friend": friend.customer_id}, source=automation)`; the API and the console
    may too. Refused (404, data.friend) unless the friend was referred by this customer; the points
    count against points-awarded budgets like any earning."""
    _module(ctx, "data.friend")
    friend = str(ctx.data.get("friend") or "")
    referral = (
        Referral.objects.filter(
            environment=ctx.environment, advocate=ctx.customer, friend__customer_id=friend
        )
        .select_related("code")
        .first()
    )
    if referral is None:
        raise NotFound(f"Customer {friend!r} was not referred by this customer.", field="data.friend")
    ledger.credit(ctx, ctx.data["points"])
    ctx.result.extra["referral_bonus"] = {
        "code": referral.code.code,
        "friend": friend,
        "points": ctx.data["points"],
    }
