"""Achievement progress, updated by the engine after every event (`prepare` / `settle`, called by
events.engine.count_profile_features) with the customer's row locked.

- A run (AchievementProgress) covers one window: `period_amount` `period_unit`s (rounded up to
  the end of the day / week / month, in the program's time zone) from its start, never past the
  definition's `end_date`. Activation *first action*: the window starts at the customer's first
  counted action; *fixed schedule*: windows follow each other from `start_date`.
- Counted: a number of events of `action` (each registered event of that action adds 1; for
  `checkout` the run is recounted from the customer's pending and accepted transactions, so
  rejections and refunds take it back), or a purchase milestone (the sum of the totals less
  refunded value of those transactions in the window: refunds and rejections take it back).
- Statuses: in progress, completed (progress reached the target: an `achievement_completed`
  follow-up event is registered, which workflows can trigger on), expired (the window ended
  first; set when the customer is next seen), not started (no run: shown by the tab).
  A completed run stays completed even if a later reversal lowers its progress.
- Recurrence: none (one run), on expiration (a new run after an expired one), on completion
  (a new run from the completion on).
Cost: nothing when the module is off, no definition is active, or none counts this event's actions
(a per-process map action -> definitions, rebuilt on a configuration change); else one UPDATE ...
RETURNING per counted achievement, sent with the budgets' statements and the customer's UPDATE in
one round trip (events.engine.settle_profile_features reads their rows).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Sum

from loyalty import configcache, fastsql
from loyalty.context import HandlerContext
from loyalty.ledger.expiration import add_period, round_up
from transactions.choices import TransactionStatus
from transactions.models import Transaction

from .choices import Activation, Counts, ProgressStatus, Recurrence
from .models import Achievement, AchievementProgress

CACHE_KEY = "achievements:active:v1"
INDEX_KEY = "achievements:by-action:v1"
# Events that change what a purchase milestone (or a checkout count) adds up.
TRANSACTION_ACTIONS = frozenset(
    {
        "checkout",
        "checkout_update",
        "checkout_accept",
        "checkout_reject",
        "refund",
        "partial_refund",
        "refund_item",
        "checkout_claim",
    }
)
COUNTED_STATUSES = (TransactionStatus.PENDING, TransactionStatus.ACCEPTED)
MAX_WINDOWS = 10_000


def active_achievements() -> list[Achievement]:
    return configcache.get(CACHE_KEY, lambda: list(Achievement.objects.filter(active=True).order_by("pk")))


def _by_action() -> dict[str, tuple[Achievement, ...]]:
    """{action: the active achievements that count an event of it}, built once per process and
    configuration generation (loyalty.configcache: a saved definition rebuilds it everywhere)."""

    def build():
        index: dict[str, list[Achievement]] = {}
        for achievement in active_achievements():
            if achievement.counts == Counts.PURCHASE_TOTAL or achievement.action == "checkout":
                actions = TRANSACTION_ACTIONS
            else:
                actions = frozenset({achievement.action})
            for action in actions:
                index.setdefault(action, []).append(achievement)
        return {action: tuple(found) for action, found in index.items()}

    return configcache.get(INDEX_KEY, build)


def _counted(actions) -> list[Achievement]:
    """The active achievements counting any of `actions`, in definition order."""
    index = _by_action()
    if not index:
        return []
    found = [achievement for action in actions for achievement in index.get(action, ())]
    if len(found) > 1:
        found = sorted({a.pk: a for a in found}.values(), key=lambda a: a.pk)
    return found


def counts_action(action: str) -> bool:
    """Whether an active achievement counts events of `action` (events.sets registers those one by one)."""
    return action in _by_action()


def prepare(ctx: HandlerContext) -> list[tuple[Achievement, tuple[str, list] | None]]:
    """[(achievement, its hot-path statement or None)] for the active achievements counting this
    registration's events, in definition order: nothing at all (no query) when none counts one
    of its actions. The statement (_INCREMENT) adds a number of events to the customer's current
    run when it stays in progress; None goes to `advance` (purchase milestones, checkout counts)."""
    if not ctx.program.achievements:
        return []
    events = ctx.result.events
    if len(events) == 1:  # most registrations: one look-up, no set
        counted = _by_action().get(events[0].action, ())
    else:
        counted = _counted({event.action for event in events})
    if not counted:
        return []
    work = []
    now = ctx.now
    for achievement in counted:
        if achievement.end_date is not None and now >= achievement.end_date:
            continue  # no progress after the end date
        if achievement.counts == Counts.EVENTS and achievement.action != "checkout":
            n = sum(1 for event in events if event.action == achievement.action)
            work.append((achievement, _increment_statement(ctx, achievement, n)))
        else:
            work.append((achievement, None))
    return work


def settle(ctx: HandlerContext, work: list, rows: list[tuple | None]) -> None:
    """After the hot-path statements ran (`rows`: one per statement, in order): note the runs
    they advanced; the others go through `advance` (no run yet, window over, target reached,
    recounts)."""
    results = iter(rows)
    for achievement, statement in work:
        row = next(results) if statement is not None else None
        if row is None:
            advance(ctx, achievement)
            continue
        ctx.result.extra.setdefault("achievements", []).append(
            {
                "achievement": achievement.api_name,
                "progress": str(row[0]),
                "status": ProgressStatus.IN_PROGRESS,
            }
        )


def window(achievement: Achievement, start: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    local = start.astimezone(ZoneInfo(time_zone or "UTC"))
    end = round_up(
        add_period(local, achievement.period_amount, achievement.period_unit), achievement.period_rounding
    )
    end = end.astimezone(dt.UTC)
    if achievement.end_date is not None and end > achievement.end_date:
        end = achievement.end_date
    return start, end


def _new_window(
    achievement: Achievement, now: dt.datetime, time_zone: str
) -> tuple[dt.datetime, dt.datetime] | None:
    if achievement.activation == Activation.FIXED_SCHEDULE and achievement.start_date is not None:
        start = achievement.start_date
        for _ in range(MAX_WINDOWS):
            start_, end = window(achievement, start, time_zone)
            if now < end:
                return (start_, end) if now >= start_ else None
            if achievement.end_date is not None and end >= achievement.end_date:
                return None
            start = end
        return None
    return window(achievement, now, time_zone)


def _recount(ctx: HandlerContext, achievement: Achievement, run: AchievementProgress) -> Decimal:
    txs = Transaction.objects.filter(
        customer=ctx.customer, status__in=COUNTED_STATUSES, checkout_at__gte=run.start_at
    )
    if run.end_at is not None:
        txs = txs.filter(checkout_at__lt=run.end_at)
    if achievement.counts == Counts.PURCHASE_TOTAL:
        total = txs.aggregate(total=Sum(F("total") - F("refunded_value")))["total"]
        return Decimal(total or 0)
    return Decimal(txs.aggregate(n=Count("pk"))["n"])


_TABLE = AchievementProgress._meta.db_table
_INCREMENT = (
    f"UPDATE {_TABLE} SET progress = progress + %s, updated_at = %s "
    "WHERE customer_id = %s AND achievement_id = %s AND status = 'in_progress' "
    "AND (end_at IS NULL OR end_at > %s) AND progress + %s < %s RETURNING progress"
)


def _increment_statement(ctx: HandlerContext, achievement: Achievement, n: int) -> tuple[str, list]:
    """The hot path of a number-of-events achievement: one UPDATE of the customer's current run
    when it stays in progress (no row back: `advance`)."""
    now = connection.ops.adapt_datetimefield_value(ctx.now)
    # Plain numbers: SQLite would compare a Decimal adapted to text as greater than any number.
    amount = int(n)
    return _INCREMENT, [amount, now, ctx.customer.id, achievement.pk, now, amount, float(achievement.target)]


_LATEST_RUN = "customer_id = %s AND achievement_id = %s ORDER BY start_at DESC, id DESC"


def advance(ctx: HandlerContext, achievement: Achievement) -> AchievementProgress | None:
    """The slow path (a first run, a window over, a recount, a completion): the customer's latest
    run read under a row lock, then one INSERT (a new run, with its progress) or one UPDATE."""
    now = ctx.now
    if achievement.end_date is not None and now >= achievement.end_date:
        return None
    run = fastsql.first(AchievementProgress, _LATEST_RUN, [ctx.customer.pk, achievement.pk], lock=True)
    if (
        run is not None
        and run.status == ProgressStatus.IN_PROGRESS
        and run.end_at is not None
        and now >= run.end_at
    ):
        run.status = ProgressStatus.EXPIRED
        run.updated_at = now
        fastsql.update(run, ["status", "updated_at"])
    new = False
    if run is None or run.status != ProgressStatus.IN_PROGRESS:
        restart = run is None or (
            (run.status == ProgressStatus.EXPIRED and achievement.recurrence == Recurrence.ON_EXPIRATION)
            or (run.status == ProgressStatus.COMPLETED and achievement.recurrence == Recurrence.ON_COMPLETION)
        )
        if not restart:
            return None
        bounds = _new_window(achievement, now, ctx.program.time_zone)
        if bounds is None:
            return None
        run = AchievementProgress(
            achievement=achievement,
            customer=ctx.customer,
            start_at=bounds[0],
            end_at=bounds[1],
            progress=Decimal(0),
            status=ProgressStatus.IN_PROGRESS,
            updated_at=now,
        )
        new = True
    if achievement.counts == Counts.PURCHASE_TOTAL or achievement.action == "checkout":
        run.progress = _recount(ctx, achievement, run)
    else:
        run.progress += sum(1 for event in ctx.result.events if event.action == achievement.action)
    run.updated_at = now
    if run.progress >= achievement.target:
        run.status = ProgressStatus.COMPLETED
        run.completed_at = now
        ctx.emit(
            "achievement_completed",
            data={
                "achievement": achievement.api_name,
                "progress": str(run.progress),
                "target": str(achievement.target),
            },
            parent=ctx.event,
        )
    if new:
        fastsql.insert(run)
    else:
        fastsql.update(run, ["progress", "status", "completed_at", "updated_at"])
    ctx.result.extra.setdefault("achievements", []).append(
        {"achievement": achievement.api_name, "progress": str(run.progress), "status": run.status}
    )
    return run


def achievement_completed(ctx: HandlerContext) -> None:
    """Internal: registered only by `advance` as the follow-up of the completing event; the
    progress row is written there. Workflows trigger on it."""


def customer_rows(customer, now: dt.datetime) -> list[dict]:
    """The Achievements tab / API: each definition with the customer's latest run (or not
    started). An in-progress run whose window has ended reads as expired."""
    latest: dict[int, AchievementProgress] = {}
    for run in AchievementProgress.objects.filter(customer=customer).order_by(
        "achievement_id", "-start_at", "-id"
    ):
        latest.setdefault(run.achievement_id, run)
    rows = []
    for achievement in Achievement.objects.filter(pk__in=latest.keys()) | Achievement.objects.filter(
        active=True
    ):
        run = latest.get(achievement.pk)
        status = run.status if run else ProgressStatus.NOT_STARTED
        if run and status == ProgressStatus.IN_PROGRESS and run.end_at is not None and now >= run.end_at:
            status = ProgressStatus.EXPIRED
        rows.append(
            {
                "achievement": achievement,
                "run": run,
                "progress": run.progress if run else Decimal(0),
                "status": status,
                "status_label": ProgressStatus(status).label,
            }
        )
    return sorted(rows, key=lambda row: row["achievement"].title)
