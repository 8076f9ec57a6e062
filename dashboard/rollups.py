"""The daily rollups behind the dashboard, kept up to date incrementally from events and ledger entries.

`update_rollups()` (django-q2 Schedule "dashboard rollups", every 10 minutes) counts the events and
ledger entries registered since its previous run and adds them to `DailyFigure` rows, so the
dashboard never scans the events table. `rebuild_rollups()` (`manage.py rebuild_dashboard`) throws
the rollups away and counts everything again through the same code.

Metrics (`DailyFigure.metric`, per environment and day in the program's time zone):

| metric | key | value (amount) | from |
| --- | --- | --- | --- |
| enrolled / opted_out | "" | customers | `opt_in` / `opt_out` events |
| active_members | "" | distinct customers that day (HyperLogLog estimate, exact when small unless two members share a register) | active-member events (`ActiveMemberSketch`) |
| purchases | "" | checkouts by members (revenue: sum of `total`) | `checkout` events with a customer |
| refunds | "" | refund events of members (amount: money given back) | `transactions.RefundValue` of `refund` / `partial_refund` / `refund_item` events |
| reward_claims | reward ID | claims | `reward` events |
| coupon_redemptions | "" | redemptions | `coupon_redeem` events |
| custom_events | action | events | actions that are not built in |
| points_issued / points_spent / points_expired / points_subtracted | account code | points | ledger entries earn+pending / spend−unspend / expire / sub |
| spendable_delta / pending_delta | account code | signed points | ledger entries: every change of spendable; pending − activate |
| tier_members | "structure/tier" codes | customers | snapshot of the customers' tiers, written each run for today |

Points liability on a day is the running sum of spendable_delta and pending_delta up to that day
(a customer's subledger counts under its program account).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Count, DecimalField, Max, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from dashboard import sketch
from dashboard.models import ActiveMemberSketch, DailyFigure, RollupState
from events.definitions import BUILTIN_ACTIONS
from events.models import Event
from loyalty import clock
from loyalty.models import CustomerTier, LedgerEntry, PointAccount
from loyalty.models.ledger import EntryKind
from loyalty.tiers import due_rows
from transactions.models import RefundValue

CHUNK = 50_000  # events (or ledger entries) counted per step of the scheduled task
# A rebuild counts in far bigger steps: each step is a few GROUP BY queries the database answers
# in one pass (no row comes back to Python one by one), so fewer steps means fewer passes.
REBUILD_CHUNK = 5_000_000

# Active-member events (reference-behaviour.md §5.2): customer-driven transactions and engagement
# count, system-generated or scheduled events (birthday, assignments, daily login) do not. Any custom
# event counts too. Built-ins the reference's table does not list are decided by the same rule.
ACTIVE_MEMBER_ACTIONS = frozenset(
    {
        "checkout",
        "checkout_update",
        "checkout_accept",
        "checkout_reject",
        "checkout_item",
        "checkout_update_item",
        "coupon_redeem",
        "coupon_unredeem",
        "reward",
        "point_spend",
        "referral_redeem",
        "campaign_bonus",  # reference §5.2: active usage "yes"
    }
)

MONEY = DecimalField(max_digits=20, decimal_places=2)

POINT_METRICS = {
    EntryKind.EARN: ("points_issued", 1),
    EntryKind.PENDING: ("points_issued", 1),
    EntryKind.SPEND: ("points_spent", -1),
    EntryKind.UNSPEND: ("points_spent", -1),
    EntryKind.EXPIRE: ("points_expired", -1),
    EntryKind.SUB: ("points_subtracted", -1),
}

Key = tuple[str, dt.date, str, str]  # environment, day, metric, key


def is_active_member_event(action: str) -> bool:
    return action in ACTIVE_MEMBER_ACTIONS or action not in BUILTIN_ACTIONS


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def _account_codes() -> dict[int, str]:
    """Account id -> the program account's code (a subledger counts under its parent)."""
    rows = list(PointAccount.objects.values_list("id", "code", "parent_id"))
    codes = {pk: code for pk, code, _ in rows}
    return {pk: codes.get(parent, code) if parent else code for pk, code, parent in rows}


class Tally:
    """Deltas for DailyFigure rows and the active members' sketch registers, collected before one
    write."""

    def __init__(self) -> None:
        self.figures: dict[Key, list] = defaultdict(lambda: [0, Decimal(0)])
        # (environment, "day" | "month", first day) -> the sketch of the members seen there
        self.registers: dict[tuple[str, str, dt.date], bytearray] = {}
        self.recounts: dict[Key, int] = {}  # rows set to a recount instead of adding a delta

    def mark(self, environment: str, day: dt.date, register: int, rank: int) -> None:
        """One active member's hash (register, rank) on `day`, into the day's and the month's sketch."""
        for key in ((environment, "day", day), (environment, "month", day.replace(day=1))):
            registers = self.registers.get(key)
            if registers is None:
                registers = self.registers[key] = sketch.empty()
            if rank > registers[register]:
                registers[register] = rank

    def add(self, environment: str, day: dt.date, metric: str, key: str = "", value=1, amount=None):
        row = self.figures[(environment, day, metric, key)]
        row[0] += value
        if amount is not None:
            row[1] += amount


COUNTED_ACTIONS = ("opt_in", "opt_out", "checkout", "reward", "coupon_redeem")


def count_events(tally: Tally, low: int, high: int, where: Q | None = None) -> None:
    """Add the events with low < id <= high (and matching `where`, for benchmarks). The database
    groups them by environment, local day and action (the day in the program's time zone); only
    the active members' (environment, day, customer) come back one by one, for the sketches."""
    day = TruncDate("effective_at", tzinfo=clock.zone())
    events = Event.objects.filter(where or Q(), id__gt=low, id__lte=high).order_by()
    counted = Q(action__in=COUNTED_ACTIONS) | ~Q(action__in=list(BUILTIN_ACTIONS))
    rows = (
        events.filter(counted)
        .annotate(
            local_day=day, reward_id=KeyTextTransform("reward", "data"), member=Q(customer__isnull=False)
        )
        .values("environment", "local_day", "action", "reward_id", "member")
        .annotate(n=Count("id"), total=Sum(Cast(KeyTextTransform("total", "data"), MONEY)))
    )
    for row in rows:
        environment, local_day, action, n = row["environment"], row["local_day"], row["action"], row["n"]
        if action == "opt_in":
            tally.add(environment, local_day, "enrolled", value=n)
        elif action == "opt_out":
            tally.add(environment, local_day, "opted_out", value=n)
        elif action == "checkout":
            if row["member"]:
                tally.add(environment, local_day, "purchases", value=n, amount=_money(row["total"] or 0))
        elif action == "reward":
            tally.add(environment, local_day, "reward_claims", str(row["reward_id"] or "")[:200], value=n)
        elif action == "coupon_redeem":
            tally.add(environment, local_day, "coupon_redemptions", value=n)
        else:
            tally.add(environment, local_day, "custom_events", action, value=n)
    count_active(tally, events)
    count_refunds(tally, events)


def count_refunds(tally: Tally, events) -> None:
    """Add what the refund events among `events` gave back to members (transactions.RefundValue),
    per environment and local day of the refund: the `refunds` figure (value: refunds, amount:
    money), which the dashboard subtracts from the purchases' revenue (net revenue)."""
    rows = (
        RefundValue.objects.filter(event__in=events.filter(customer__isnull=False).values("id"))
        .annotate(local_day=TruncDate("event__effective_at", tzinfo=clock.zone()))
        .values_list("event__environment", "local_day")
        .annotate(n=Count("event_id"), total=Sum("amount"))
        .order_by()
    )
    for environment, day, n, total in rows:
        tally.add(environment, day, "refunds", value=n, amount=total or Decimal(0))


# The sketch registers of the active members, computed by PostgreSQL: its stable 64-bit
# hashint8extended(customer id, 0) stands for dashboard.sketch's hash (the low P bits pick the
# register; the rank is the position of the first 1 in the remaining 64 - P bits, as sketch.add).
# Each (environment, day, register) comes back once with its highest rank, however many members.
REGISTERS_SQL = f"""
SELECT environment, local_day, (h & {sketch.M - 1})::int,
       max(coalesce(nullif(position('1' in (h >> {sketch.P})::bit({64 - sketch.P})::text), 0), {65 - sketch.P}))
FROM (SELECT environment, local_day, hashint8extended(customer_id, 0) AS h FROM ({{members}}) members) hashed
GROUP BY 1, 2, 3
"""


def count_active(tally: Tally, events) -> None:
    """Mark the active members among `events` (a queryset) in the day's and month's sketches.
    PostgreSQL hashes them itself (REGISTERS_SQL: a few thousand rows per day come back, not one
    per member); SQLite returns the distinct (environment, day, customer) for dashboard.sketch."""
    active = Q(action__in=list(ACTIVE_MEMBER_ACTIONS)) | ~Q(action__in=list(BUILTIN_ACTIONS))
    members = (
        events.filter(active, customer__isnull=False)
        .annotate(local_day=TruncDate("effective_at", tzinfo=clock.zone()))
        .values_list("environment", "local_day", "customer_id")
        .distinct()
    )
    if connection.vendor == "postgresql":
        sql, params = members.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(REGISTERS_SQL.format(members=sql), params)
            for environment, day, register, rank in cursor.fetchall():
                tally.mark(environment, day, register, rank)
        return
    for environment, day, customer_id in members.iterator(chunk_size=10000):
        tally.mark(environment, day, *sketch.position(customer_id))


def count_entries(tally: Tally, low: int, high: int, where: Q | None = None) -> None:
    """Add the ledger entries with low < id <= high (and matching `where`, for benchmarks), summed
    by the database per environment, local day, account and kind."""
    codes = _account_codes()
    rows = (
        LedgerEntry.objects.filter(where or Q(), id__gt=low, id__lte=high)
        .order_by()
        .annotate(local_day=TruncDate("created_at", tzinfo=clock.zone()))
        .values_list("customer__environment", "local_day", "account_id", "kind")
        .annotate(total=Sum("amount"))
    )
    for environment, day, account_id, kind, amount in rows:
        code = codes.get(account_id, str(account_id))
        if kind in POINT_METRICS:
            metric, sign = POINT_METRICS[kind]
            tally.add(environment, day, metric, code, sign * amount)
        if kind == EntryKind.PENDING:
            tally.add(environment, day, "pending_delta", code, amount)
        else:
            tally.add(environment, day, "spendable_delta", code, amount)
            if kind == EntryKind.ACTIVATE:
                tally.add(environment, day, "pending_delta", code, -amount)


def write(tally: Tally) -> None:
    """Add the tally to the rollup rows (inside the caller's transaction, which holds the state lock)."""
    if tally.registers:
        for environment, day, count in add_to_sketches(tally.registers):
            tally.recounts[(environment, day, "active_members", "")] = count
    by_metric: dict[tuple[str, str], list[Key]] = defaultdict(list)
    for key in [*tally.figures, *tally.recounts]:
        by_metric[(key[0], key[2])].append(key)
    for (environment, metric), keys in by_metric.items():
        days = sorted({k[1] for k in keys})
        existing = {
            (row.environment, row.day, row.metric, row.key): row
            for row in DailyFigure.objects.filter(
                environment=environment, metric=metric, day__gte=days[0], day__lte=days[-1]
            )
        }
        new, changed = [], []
        for key in keys:
            row = existing.get(key)
            if row is None:
                row = DailyFigure(environment=key[0], day=key[1], metric=key[2], key=key[3])
                new.append(row)
            else:
                changed.append(row)
            if key in tally.recounts:
                row.value = tally.recounts[key]
            else:
                value, amount = tally.figures[key]
                row.value += value
                row.amount += amount
        # One INSERT ... ON CONFLICT DO UPDATE with the new totals (the state lock keeps other
        # writers out); much cheaper than bulk_update's CASE per row.
        DailyFigure.objects.bulk_create(
            [*new, *changed],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["environment", "metric", "day", "key"],
            update_fields=["value", "amount"],
        )


def add_to_sketches(
    registers: dict[tuple[str, str, dt.date], bytearray],
) -> list[tuple[str, dt.date, int]]:
    """Merge the new registers into the stored day and month sketches (register-wise maximum);
    returns each touched day's new estimate."""
    rows = {
        (row.environment, row.period, row.start): row
        for environment in {key[0] for key in registers}
        for row in ActiveMemberSketch.objects.filter(
            environment=environment, start__in={key[2] for key in registers if key[0] == environment}
        )
    }
    new, changed, counts = [], [], []
    for key, added in registers.items():
        row = rows.get(key)
        if row is None:
            row = ActiveMemberSketch(environment=key[0], period=key[1], start=key[2], registers=bytes(added))
            new.append(row)
        else:
            row.registers = bytes(sketch.union([row.registers, added]))
            changed.append(row)
        if key[1] == "day":
            counts.append((key[0], key[2], sketch.estimate(row.registers)))
    ActiveMemberSketch.objects.bulk_create(
        [*new, *changed],
        batch_size=500,
        update_conflicts=True,
        unique_fields=["environment", "period", "start"],
        update_fields=["registers"],
    )
    return counts


def active_members(environment: str, start: dt.date, end: dt.date) -> int:
    """Distinct active members from `start` to `end` (both included): the union of the whole
    months inside the range and the days outside them."""
    months, days = [], []
    day = start
    while day <= end:
        month_end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if day.day == 1 and month_end <= end:
            months.append(day)
            day = month_end + dt.timedelta(days=1)
        else:
            days.append(day)
            day += dt.timedelta(days=1)
    rows = ActiveMemberSketch.objects.filter(environment=environment).filter(
        Q(period="month", start__in=months) | Q(period="day", start__in=days)
    )
    return sketch.estimate(sketch.union(rows.values_list("registers", flat=True)))


def snapshot_tiers(today: dt.date) -> None:
    """Today's tier distribution per environment (replaces today's snapshot): the effective
    tiers, so a tier that expired before the hourly review ran counts in the tier it falls to,
    as every other reader shows it (loyalty.tiers.due_rows: only the few due rows are recomputed)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in (
        CustomerTier.objects.values("customer__environment", "structure__code", "tier__code")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[(row["customer__environment"], f"{row['structure__code']}/{row['tier__code']}")] += row["n"]
    due = due_rows(clock.now())
    if due:
        stored = CustomerTier.objects.filter(customer_id__in={pk for pk, _ in due}).values(
            "customer_id", "structure_id", "customer__environment", "structure__code", "tier__code"
        )
        for row in stored:
            effective = due.get((row["customer_id"], row["structure_id"]))
            if effective is None:
                continue
            environment, structure = row["customer__environment"], row["structure__code"]
            counts[(environment, f"{structure}/{row['tier__code']}")] -= 1
            code = effective.tier.code if effective.tier_id else None
            counts[(environment, f"{structure}/{code}")] += 1
    DailyFigure.objects.filter(metric="tier_members", day=today).delete()
    DailyFigure.objects.bulk_create(
        [
            DailyFigure(environment=environment, day=today, metric="tier_members", key=key, value=n)
            for (environment, key), n in sorted(counts.items())
            if n > 0
        ]
    )


def _state() -> RollupState:
    RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=1)


def _catch_up(state: RollupState, events_to: int, entries_to: int, chunk: int | None = None) -> int:
    """Count events and entries up to the given ids, `chunk` (CHUNK) rows per step. Returns
    events counted."""
    chunk = chunk or CHUNK
    counted = 0
    while state.events_done < events_to or state.entries_done < entries_to:
        tally = Tally()
        events_high = min(events_to, state.events_done + chunk)
        entries_high = min(entries_to, state.entries_done + chunk)
        count_events(tally, state.events_done, events_high)
        count_entries(tally, state.entries_done, entries_high)
        write(tally)
        counted += events_high - state.events_done
        state.events_done, state.entries_done = events_high, entries_high
        state.save(update_fields=["events_done", "entries_done"])
    return counted


def update_rollups() -> dict:
    """The scheduled task: count what was registered since the previous run. Rows that existed at
    the previous run are counted now (see RollupState); the tier snapshot is refreshed.

    The state row is locked for the whole run, so two workers never count the same rows twice."""
    with transaction.atomic():
        state = _state()
        events_max = Event.objects.aggregate(m=Max("id"))["m"] or 0
        entries_max = LedgerEntry.objects.aggregate(m=Max("id"))["m"] or 0
        counted = _catch_up(state, state.events_seen, state.entries_seen)
        state.events_seen, state.entries_seen = events_max, entries_max
        state.updated_at = timezone.now()
        state.save()
        snapshot_tiers(clock.now().astimezone(clock.zone()).date())
    return {"events": counted, "events_done": state.events_done}


def rebuild_rollups() -> dict:
    """Throw the rollups away and count every event and ledger entry again (the same counting as
    the task). Runs in one transaction: the dashboard shows the old figures until it commits."""
    with transaction.atomic():
        state = _state()
        DailyFigure.objects.all().delete()
        ActiveMemberSketch.objects.all().delete()
        events_max = Event.objects.aggregate(m=Max("id"))["m"] or 0
        entries_max = LedgerEntry.objects.aggregate(m=Max("id"))["m"] or 0
        state.events_done = state.entries_done = 0
        counted = _catch_up(state, events_max, entries_max, REBUILD_CHUNK)
        state.events_seen, state.entries_seen = events_max, entries_max
        state.updated_at = state.rebuilt_at = timezone.now()
        state.save()
        snapshot_tiers(clock.now().astimezone(clock.zone()).date())
    return {"events": counted, "events_done": state.events_done}
