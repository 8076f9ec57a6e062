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
Reversals (refunds, unredeems) do not give budget back; counters reset with their period.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import connection

from loyalty import configcache, fastsql
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError

from .choices import BudgetAction, BudgetPeriod
from .models import Budget, BudgetCounter

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
    used = usage(ctx)
    if not used:
        return
    for budget in budgets:
        for (action, code), amount in used.items():
            if action != budget.action:
                continue
            key = code if (budget.per_coupon and action == BudgetAction.COUPON_REDEMPTIONS) else ""
            _count(ctx, budget, key, amount)


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
