"""Budget enforcement: called by the engine after the handler of every event (one line in
events.engine._apply), with the customer's row locked — which serializes every counter of that
customer, so concurrent events can never exceed a limit.

What counts, from the registration's effects (ctx.result):
- points_awarded: points of the lots credited (not point_unspend's given-back points; console
  changes by staff, source "platform", are manual adjustments and are not limited);
- coupon_redemptions: coupon_redeem events (per coupon code when the budget says per_coupon);
- reward_claims: reward events;
- referral_redemptions: a referral redeemed (referrals.referrals sets result.extra["referral"]).
An event that would take a counter over its limit is refused (BusinessRuleError) and, like every
refusal, rolls back whole. Cost: nothing when the module is off or no active budget exists; else
the effects are scanned in memory and only budgets actually touched read and write a counter.

Reversals give budget back (reference §7.4: a cancelled session reverts its budget usage, a
partial return adjusts it), to the counter of the period the usage was counted in:
- points taken back by refund / partial_refund / refund_item / checkout_reject: the points the
  ledger actually took back (a shortfall the customer kept stays used), to the period of the
  transaction's checkout;
- a coupon use given back (coupon_unredeem, alone or by a full reversal; not a gift card's
  partial return of value, which keeps the use): 1, to the period of the undone redemption;
- a revoked reward claim (reward_revoke): 1, to the period of the claim.
A counter never goes below 0; a period without a counter (the budget came later) is untouched.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, F, Value, When

from coupons.models import CouponRedemption
from loyalty import configcache, fastsql
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError
from loyalty.models.ledger import EntryKind

from .choices import BudgetAction, BudgetPeriod
from .models import Budget, BudgetCounter

# Events whose ledger debits are points of a transaction given back.
TRANSACTION_REVERSALS = frozenset({"refund", "partial_refund", "refund_item", "checkout_reject"})
REVERSALS = TRANSACTION_REVERSALS | {"coupon_unredeem", "reward_revoke"}

CACHE_KEY = "budgets:active:v1"
PER = {
    BudgetPeriod.DAILY: "day",
    BudgetPeriod.WEEKLY: "week",
    BudgetPeriod.MONTHLY: "month",
    BudgetPeriod.YEARLY: "year",
}


def active_budgets() -> list[Budget]:
    return configcache.get(CACHE_KEY, lambda: list(Budget.objects.filter(active=True).order_by("pk")))


def period_bounds(period: str, moment: dt.datetime, time_zone: str) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the period holding `moment`, in the program's time zone."""
    day = moment.astimezone(ZoneInfo(time_zone or "UTC")).date()
    if period == BudgetPeriod.DAILY:
        return day, day
    if period == BudgetPeriod.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if period == BudgetPeriod.MONTHLY:
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt - dt.timedelta(days=1)
    start = day.replace(month=1, day=1)
    return start, day.replace(month=12, day=31)


def usage(ctx: HandlerContext) -> dict[tuple[str, str], int]:
    """{(action, coupon code or ""): amount} of this registration's effects."""
    used: dict[tuple[str, str], int] = {}

    def add(action, amount, code=""):
        if amount:
            used[(action, code)] = used.get((action, code), 0) + amount

    if ctx.source != "platform":
        for lot in ctx.result.lots_created:
            if getattr(lot.event, "action", "") != "point_unspend":
                add(BudgetAction.POINTS_AWARDED, lot.points)
    for event in ctx.result.events:
        if event.action == "coupon_redeem":
            add(BudgetAction.COUPON_REDEMPTIONS, 1, str((event.data or {}).get("code") or ""))
        elif event.action == "reward":
            add(BudgetAction.REWARD_CLAIMS, 1)
    if ctx.result.extra.get("referral"):
        add(BudgetAction.REFERRAL_REDEMPTIONS, 1)
    return used


def enforce(ctx: HandlerContext) -> None:
    """Count this event's effects against the customer's budgets; refuse one over a limit."""
    if not ctx.program.budgets:
        return
    budgets = active_budgets()
    if not budgets:
        return
    if any(event.action in REVERSALS for event in ctx.result.events):
        give_back(ctx, budgets)
    used = usage(ctx)
    if not used:
        return
    for budget in budgets:
        for (action, code), amount in used.items():
            if action != budget.action:
                continue
            key = code if (budget.per_coupon and action == BudgetAction.COUPON_REDEMPTIONS) else ""
            _count(ctx, budget, key, amount)


def returned(ctx: HandlerContext) -> list[tuple[str, str, dt.datetime, int]]:
    """[(action, coupon code or "", moment the usage was counted, amount)] this registration's
    reversals give back (see the module docstring)."""
    back: list[tuple[str, str, dt.datetime, int]] = []
    tx = ctx.result.extra.get("transaction")
    taken = sum(
        -entry.amount
        for entry in ctx.result.ledger_entries
        if entry.amount < 0
        and entry.kind == EntryKind.SUB
        and getattr(entry.event, "action", "") in TRANSACTION_REVERSALS
    )
    if taken and tx is not None:
        back.append((BudgetAction.POINTS_AWARDED, "", tx.checkout_at or tx.created_at, taken))
    for event in ctx.result.events:
        data = event.data or {}
        if event.action == "coupon_unredeem" and "amount" not in data:
            code = str(data.get("code") or "")
            undone = (
                CouponRedemption.objects.filter(coupon__code=code, undone_at=ctx.now)
                .order_by("-pk")
                .values_list("created_at", flat=True)
                .first()
            )
            back.append((BudgetAction.COUPON_REDEMPTIONS, code, undone or ctx.now, 1))
        elif event.action == "reward_revoke" and ctx.result.extra.get("reward_claim") is not None:
            back.append((BudgetAction.REWARD_CLAIMS, "", ctx.result.extra["reward_claim"].created_at, 1))
    return back


def give_back(ctx: HandlerContext, budgets: list[Budget]) -> None:
    """Lower the counters a reversal's usage was counted in (never below 0)."""
    for action, code, moment, amount in returned(ctx):
        for budget in budgets:
            if budget.action != action:
                continue
            key = code if (budget.per_coupon and action == BudgetAction.COUPON_REDEMPTIONS) else ""
            start, _end = period_bounds(budget.period, moment, ctx.program.time_zone)
            BudgetCounter.objects.filter(
                budget=budget, customer=ctx.customer, period_start=start, coupon_code=key
            ).update(
                counter=Case(When(counter__gt=amount, then=F("counter") - amount), default=Value(0)),
                updated_at=ctx.now,
            )
            ctx.result.extra.setdefault("budgets", []).append(
                {"budget": budget.pk, "action": budget.action, "given_back": amount, "period": str(start)}
            )


def _count(ctx: HandlerContext, budget: Budget, code: str, amount: int) -> None:
    """Add `amount` to the customer's counter of `budget` for this period, or refuse.

    One statement on the hot path: INSERT ... ON CONFLICT DO UPDATE ... WHERE within the limit
    RETURNING (PostgreSQL, SQLite >= 3.35); no row back means the limit would be passed. The
    customer's row lock serializes every counter of the customer."""
    start, _end = period_bounds(budget.period, ctx.now, ctx.program.time_zone)
    if amount <= budget.limit:
        ops = connection.ops
        cursor = fastsql.cursor()
        cursor.execute(
            _UPSERT,
            [
                budget.pk,
                ctx.customer.pk,
                ops.adapt_datefield_value(start),
                code,
                amount,
                ops.adapt_datetimefield_value(ctx.now),
                budget.limit,
            ],
        )
        row = cursor.fetchone()
        if row is not None:
            ctx.result.extra.setdefault("budgets", []).append(
                {"budget": budget.pk, "action": budget.action, "used": row[0], "limit": budget.limit}
            )
            return
    current = (
        BudgetCounter.objects.filter(
            customer=ctx.customer, budget=budget, period_start=start, coupon_code=code
        )
        .values_list("counter", flat=True)
        .first()
        or 0
    )
    what = budget.get_action_display().lower()
    raise BusinessRuleError(
        f"Budget of {budget.campaign!r} reached: {what} are limited to {budget.limit} per "
        f"{PER[budget.period]} ({current} used, {amount} more asked).",
        field="budget",
    )


_TABLE = BudgetCounter._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (budget_id, customer_id, period_start, coupon_code, counter, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (customer_id, budget_id, period_start, coupon_code) DO UPDATE "
    f"SET counter = {_TABLE}.counter + excluded.counter, updated_at = excluded.updated_at "
    f"WHERE {_TABLE}.counter + excluded.counter <= %s RETURNING counter"
)
