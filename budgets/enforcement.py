"""Budget enforcement: `prepare` / `settle`, called by the engine after the handler of every event
(events.engine.count_profile_features / settle_profile_features), with the customer's row locked
— which serializes every counter of that customer, so concurrent events can never exceed a limit.

What counts, from the registration's effects (ctx.result):
- points_awarded: points of the lots credited (not point_unspend's given-back points; console
  changes by staff, source "platform", are manual adjustments and are not limited);
- coupon_redemptions: coupon_redeem events (per coupon code when the budget says per_coupon);
- reward_claims: reward events;
- referral_redemptions: a referral redeemed (referrals.referrals sets result.extra["referral"]).
An event that would take a counter over its limit is refused (BusinessRuleError) and, like every
refusal, rolls back whole. Cost: nothing when the module is off or no active budget exists; else
the effects are scanned in memory for the actions that have a budget (a per-process map action ->
budgets, rebuilt on a configuration change) and each budget actually touched costs one statement
(an upsert of its counter, under the customer's row lock): no SELECT.

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
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, F, Value, When

from coupons.models import CouponRedemption
from loyalty import configcache
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError
from loyalty.models.ledger import EntryKind

from .choices import BudgetAction, BudgetPeriod
from .models import Budget, BudgetCounter

# Events whose ledger debits are points of a transaction given back.
TRANSACTION_REVERSALS = frozenset({"refund", "partial_refund", "refund_item", "checkout_reject"})
REVERSALS = TRANSACTION_REVERSALS | {"coupon_unredeem", "reward_revoke"}

CACHE_KEY = "budgets:active:v1"
INDEX_KEY = "budgets:by-action:v1"
PER = {
    BudgetPeriod.DAILY: "day",
    BudgetPeriod.WEEKLY: "week",
    BudgetPeriod.MONTHLY: "month",
    BudgetPeriod.YEARLY: "year",
}


def active_budgets() -> list[Budget]:
    return configcache.get(CACHE_KEY, lambda: list(Budget.objects.filter(active=True).order_by("pk")))


def by_action() -> dict[str, tuple[Budget, ...]]:
    """{budget action: its active budgets}, built once per process and configuration generation
    (loyalty.configcache: a saved budget rebuilds it everywhere)."""

    def build():
        index: dict[str, list[Budget]] = {}
        for budget in active_budgets():
            index.setdefault(budget.action, []).append(budget)
        return {action: tuple(found) for action, found in index.items()}

    return configcache.get(INDEX_KEY, build)


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


# {(period, time zone): (first instant, first instant after, first day)} of the period last asked
# for, per process: events of the same period skip the time zone arithmetic (two comparisons).
_windows: dict[tuple[str, str], tuple[dt.datetime, dt.datetime, dt.date]] = {}


def period_start(period: str, moment: dt.datetime, time_zone: str) -> dt.date:
    """The first day of the period holding the aware `moment` in `time_zone` (period_bounds'
    first day), from a per-process cache of the current period's instants."""
    key = (period, time_zone)
    window = _windows.get(key)
    if window is not None and window[0] <= moment < window[1]:
        return window[2]
    first, last = period_bounds(period, moment, time_zone)
    zone = ZoneInfo(time_zone or "UTC")
    begins = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    ends = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    if begins <= moment < ends:  # always, barring a time zone whose midnight does not exist
        _windows[key] = (begins, ends, first)
    return first


def usage(ctx: HandlerContext, limited=None) -> dict[tuple[str, str], int]:
    """{(action, coupon code or ""): amount} of this registration's effects; with `limited` (the
    budget actions that have a budget) only those are looked at."""
    used: dict[tuple[str, str], int] = {}
    result = ctx.result
    if ctx.source != "platform" and (limited is None or BudgetAction.POINTS_AWARDED in limited):
        lots = result.lots_created
        if lots:
            given_back = {event.pk for event in result.events if event.action == "point_unspend"}
            points = sum(lot.points for lot in lots if lot.event_id not in given_back)
            if points:
                used[(BudgetAction.POINTS_AWARDED, "")] = points
    coupons = limited is None or BudgetAction.COUPON_REDEMPTIONS in limited
    if coupons or BudgetAction.REWARD_CLAIMS in limited:
        for event in result.events:
            action = event.action
            if action == "coupon_redeem":
                key = (BudgetAction.COUPON_REDEMPTIONS, str((event.data or {}).get("code") or ""))
            elif action == "reward":
                key = (BudgetAction.REWARD_CLAIMS, "")
            else:
                continue
            used[key] = used.get(key, 0) + 1
    if result.extra.get("referral"):
        used[(BudgetAction.REFERRAL_REDEMPTIONS, "")] = 1
    return used


class Counting(NamedTuple):
    """One counter this registration adds to: the budget, coupon code key, amount, period start
    and its statement (_UPSERT and parameters), for fastsql.returning_together."""

    budget: Budget
    code: str
    amount: int
    start: dt.date
    statement: tuple[str, list]


def prepare(ctx: HandlerContext) -> list[Counting]:
    """The counters this event's effects add to (give-backs of reversals are written at once).
    Nothing at all (no query) when the module is off or no active budget limits what it did;
    an amount over a limit on its own is refused here."""
    if not ctx.program.budgets:
        return []
    index = by_action()
    if not index:
        return []
    if any(event.action in REVERSALS for event in ctx.result.events):
        give_back(ctx, index)
    used = usage(ctx, index)
    if not used:
        return []
    amounts: dict[tuple[int, str], int] = {}  # one statement per counter row (merged)
    chosen: dict[int, Budget] = {}
    for (action, code), amount in used.items():
        for budget in index.get(action, ()):
            key = code if (budget.per_coupon and action == BudgetAction.COUPON_REDEMPTIONS) else ""
            amounts[(budget.pk, key)] = amounts.get((budget.pk, key), 0) + amount
            chosen[budget.pk] = budget
    work = []
    ops = connection.ops
    now = ctx.now
    moment = ops.adapt_datetimefield_value(now)
    customer_id = ctx.customer.id
    time_zone = ctx.program.time_zone
    for (budget_id, key), amount in amounts.items():
        budget = chosen[budget_id]
        start = period_start(budget.period, now, time_zone)
        if amount > budget.limit:
            _refuse(ctx, budget, key, start, amount)
        params = [budget_id, customer_id, ops.adapt_datefield_value(start), key, amount, moment, budget.limit]
        work.append(Counting(budget, key, amount, start, (_UPSERT, params)))
    return work


def settle(ctx: HandlerContext, work: list[Counting], rows: list[tuple | None]) -> None:
    """After the statements ran: refuse the event when a counter would pass its limit (no row
    came back), else note the usage in the result."""
    for item, row in zip(work, rows, strict=True):
        if row is None:
            _refuse(ctx, item.budget, item.code, item.start, item.amount)
        ctx.result.extra.setdefault("budgets", []).append(
            {
                "budget": item.budget.pk,
                "action": item.budget.action,
                "used": row[0],
                "limit": item.budget.limit,
            }
        )


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


def give_back(ctx: HandlerContext, index: dict[str, tuple[Budget, ...]]) -> None:
    """Lower the counters a reversal's usage was counted in (never below 0): one UPDATE per
    counter, with an F() expression."""
    for action, code, moment, amount in returned(ctx):
        for budget in index.get(action, ()):
            key = code if (budget.per_coupon and action == BudgetAction.COUPON_REDEMPTIONS) else ""
            start = period_start(budget.period, moment, ctx.program.time_zone)
            BudgetCounter.objects.filter(
                budget=budget, customer=ctx.customer, period_start=start, coupon_code=key
            ).update(
                counter=Case(When(counter__gt=amount, then=F("counter") - amount), default=Value(0)),
                updated_at=ctx.now,
            )
            ctx.result.extra.setdefault("budgets", []).append(
                {"budget": budget.pk, "action": budget.action, "given_back": amount, "period": str(start)}
            )


def _refuse(ctx: HandlerContext, budget: Budget, code: str, start: dt.date, amount: int):
    """Raise the refusal of a counter that `amount` would take over its limit (one SELECT of
    the counter for the message: only on a refusal)."""
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


# The hot path: one statement per counter, INSERT ... ON CONFLICT DO UPDATE ... WHERE within the
# limit RETURNING (PostgreSQL, SQLite >= 3.35); no row back means the limit would be passed. The
# customer's row lock serializes every counter of the customer.
_TABLE = BudgetCounter._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (budget_id, customer_id, period_start, coupon_code, counter, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (customer_id, budget_id, period_start, coupon_code) DO UPDATE "
    f"SET counter = {_TABLE}.counter + excluded.counter, updated_at = excluded.updated_at "
    f"WHERE {_TABLE}.counter + excluded.counter <= %s RETURNING counter"
)
