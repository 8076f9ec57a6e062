"""The dashboard's daily rollups against a direct computation over the events, ledger entries and
balances they summarise: after the scheduled task (incrementally, in several runs) and after a
rebuild."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from dashboard import rollups, sketch
from dashboard.models import DailyFigure, RollupState
from dashboard.rollups import active_members, is_active_member_event, rebuild_rollups, update_rollups
from events.definitions import BUILTIN_ACTIONS
from events.models import Event
from loyalty.models import CustomerTier, LedgerEntry, PointBalance, Program
from loyalty.tasks import expire_and_activate
from tests import factories
from tests.api.test_effective_tier import START, make_structure, reg
from tests.factories import register

ZONE = "Europe/Budapest"


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(ZONE)).date()


@pytest.fixture
def world(program):
    """Four live customers and one in the sandbox over ten days (crossing local midnight), with
    every kind of event the dashboard counts."""
    row = Program.objects.get(pk=program.pk)
    row.time_zone = ZONE
    row.save()
    structure = factories.TierStructureFactory(code="status")
    factories.TierFactory(structure=structure, code="bronze", threshold=0)
    factories.TierFactory(structure=structure, code="silver", threshold=300)
    factories.EventDefinitionFactory(action="review_written", label="Review written")
    reward = factories.RewardFactory(points=50)
    pool = factories.CouponPoolFactory()
    from coupons.pools import import_codes

    import_codes(pool, "C-1\nC-2\n")
    with time_machine.travel(utc(2025, 3, 1, 22, 30), tick=False) as clock:  # 23:30 in Budapest
        for n in range(1, 5):
            register("opt_in", f"M-{n}")
        register("opt_in", "S-1", environment="sandbox")
        register("point_add", "S-1", {"points": 70}, environment="sandbox")
        clock.move_to(utc(2025, 3, 1, 23, 30))  # 00:30 the next day in Budapest
        register("point_add", "M-1", {"points": 400, "expiration_date": "2025-03-05"})
        register("point_add", "M-2", {"points": 120, "activation_date": "2025-03-04"})
        register("checkout", "M-3", {"transaction_id": "T-1", "total": 99.5})
        register("checkout", None, {"transaction_id": "G-1", "total": 10, "guest": "g@example.com"})
        clock.move_to(utc(2025, 3, 3, 10))
        register("point_spend", "M-1", {"points": 100})
        register("reward", "M-1", {"reward": str(reward.pk)})
        register("coupon_assign", "M-2", {"code": "C-1"})
        register("coupon_redeem", "M-2", {"code": "C-1"})
        register("review_written", "M-4", {})
        register("login", "M-4", {})
        clock.move_to(utc(2025, 3, 6, 9))
        expire_and_activate()  # M-2's points activate, M-1's expire
        register("checkout", "M-2", {"transaction_id": "T-2", "total": 20})
        register("opt_out", "M-3", {})
        register("review_written", "M-4", {})
    return reward


def direct_counts() -> dict:
    """What the rollups must hold, computed straight from the events and ledger entries."""
    expected: dict = defaultdict(int)
    amounts: dict = defaultdict(Decimal)
    active = defaultdict(set)
    for event in Event.objects.all():
        day = local_day(event.effective_at)
        env = event.environment
        if event.action == "opt_in":
            expected[(env, day, "enrolled", "")] += 1
        if event.action == "opt_out":
            expected[(env, day, "opted_out", "")] += 1
        if event.action == "checkout" and event.customer_id:
            expected[(env, day, "purchases", "")] += 1
            amounts[(env, day, "purchases", "")] += Decimal(str(event.data["total"]))
        if event.action == "reward":
            expected[(env, day, "reward_claims", event.data["reward"])] += 1
        if event.action == "coupon_redeem":
            expected[(env, day, "coupon_redemptions", "")] += 1
        if event.action not in BUILTIN_ACTIONS:
            expected[(env, day, "custom_events", event.action)] += 1
        if event.customer_id and is_active_member_event(event.action):
            active[(env, day)].add(event.customer_id)
    for (env, day), customers in active.items():
        # The rollup keeps a HyperLogLog sketch: exact unless two of the day's members share a
        # register (with ids from other tests' sequences, a few in a thousand runs did).
        estimate = sketch.estimate(member_registers(customers))
        assert len(customers) - 1 <= estimate <= len(customers)
        expected[(env, day, "active_members", "")] = estimate
    signs = {"earn": ("points_issued", 1), "pending": ("points_issued", 1), "spend": ("points_spent", -1)}
    signs |= {
        "unspend": ("points_spent", -1),
        "expire": ("points_expired", -1),
        "sub": ("points_subtracted", -1),
    }
    for entry in LedgerEntry.objects.select_related("customer", "account"):
        key = (entry.customer.environment, local_day(entry.created_at))
        if entry.kind in signs:
            metric, sign = signs[entry.kind]
            expected[(*key, metric, entry.account.code)] += sign * entry.amount
    return {"values": {k: v for k, v in expected.items() if v}, "amounts": dict(amounts)}


def member_registers(customer_ids) -> bytearray:
    """The sketch the rollup builds for these customers: PostgreSQL hashes them itself with
    hashint8extended (dashboard.rollups), SQLite through dashboard.sketch.position; the register
    and rank are taken from the 64-bit hash the same way."""
    registers = sketch.empty()
    for pk in customer_ids:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT hashint8extended(%s, 0)", [pk])
                value = cursor.fetchone()[0] % 2**64
            index, rank = value & (sketch.M - 1), (64 - sketch.P) - (value >> sketch.P).bit_length() + 1
        else:
            index, rank = sketch.position(pk)
        registers[index] = max(registers[index], rank)
    return registers


def stored() -> dict:
    rows = DailyFigure.objects.exclude(metric__in=("spendable_delta", "pending_delta", "tier_members"))
    return {
        "values": {(r.environment, r.day, r.metric, r.key): r.value for r in rows if r.value},
        "amounts": {
            (r.environment, r.day, r.metric, r.key): r.amount for r in rows if r.metric == "purchases"
        },
    }


def liability() -> dict:
    """Per (environment, account): the running sums of spendable_delta and pending_delta."""
    out: dict = defaultdict(lambda: [0, 0])
    for row in DailyFigure.objects.filter(metric__in=("spendable_delta", "pending_delta")):
        out[(row.environment, row.key)][row.metric == "pending_delta"] += row.value
    return {k: v for k, v in out.items() if any(v)}


def balances() -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for b in PointBalance.objects.select_related("customer", "account"):
        out[(b.customer.environment, b.account.code)][0] += b.spendable
        out[(b.customer.environment, b.account.code)][1] += b.pending
    return {k: v for k, v in out.items() if any(v)}


def test_the_scheduled_task_counts_every_event_once_across_runs(world):
    with time_machine.travel(utc(2025, 3, 6, 12), tick=False):
        update_rollups()  # the first run only notes how far the rows go
        assert not DailyFigure.objects.exclude(metric="tier_members").exists()
        update_rollups()
        update_rollups()  # nothing new: nothing added twice
    assert stored() == direct_counts()


def test_rows_added_between_runs_are_counted_by_the_run_after_next(world):
    with time_machine.travel(utc(2025, 3, 6, 12), tick=False):
        update_rollups()
        update_rollups()
        register("review_written", "M-1", {})
        register("checkout", "M-1", {"transaction_id": "T-9", "total": 5})
        update_rollups()
        assert stored() != direct_counts()  # seen, not counted yet
        update_rollups()
    assert stored() == direct_counts()
    assert (
        DailyFigure.objects.get(metric="custom_events", key="review_written", day=dt.date(2025, 3, 6)).value
        == 2
    )


def test_the_rollups_hold_the_worked_example(world):
    rebuild_rollups()

    def value(metric, day, key="", environment="live"):
        row = DailyFigure.objects.filter(environment=environment, metric=metric, day=day, key=key).first()
        return row.value if row else 0

    # 22:30 UTC on 1 March is 23:30 there; 23:30 UTC is 00:30 on 2 March: the day is the program's.
    assert value("enrolled", dt.date(2025, 3, 1)) == 4 and value("enrolled", dt.date(2025, 3, 2)) == 0
    assert value("enrolled", dt.date(2025, 3, 1), environment="sandbox") == 1
    assert value("points_issued", dt.date(2025, 3, 1), "points") == 0
    assert value("points_issued", dt.date(2025, 3, 2), "points") == 520  # 400 earned + 120 pending
    assert value("points_spent", dt.date(2025, 3, 3), "points") == 150  # 100 spent + 50 for the reward
    assert value("points_expired", dt.date(2025, 3, 6), "points") == 250
    assert value("purchases", dt.date(2025, 3, 2)) == 1  # the guest checkout is not a member's
    purchase = DailyFigure.objects.get(metric="purchases", day=dt.date(2025, 3, 2))
    assert purchase.amount == Decimal("99.50")
    # active members on 3 March: M-1 (spend, reward), M-2 (coupon redeem), M-4 (custom event);
    # M-4's login does not count
    assert value("active_members", dt.date(2025, 3, 3)) == 3
    # over a range: M-1, M-2, M-3 (checkout on 2 March), M-4; the sandbox's S-1 is not live
    assert active_members("live", dt.date(2025, 3, 1), dt.date(2025, 3, 31)) == 4
    assert active_members("live", dt.date(2025, 3, 3), dt.date(2025, 3, 5)) == 3
    assert active_members("live", dt.date(2025, 2, 1), dt.date(2025, 4, 30)) == 4  # whole months
    assert active_members("sandbox", dt.date(2025, 3, 1), dt.date(2025, 3, 31)) == 0
    assert value("opted_out", dt.date(2025, 3, 6)) == 1


def test_points_liability_is_the_running_sum_and_equals_the_balances(world):
    rebuild_rollups()
    assert liability() == balances()
    assert liability()[("live", "points")] == [120, 0]  # M-2's activated 120; M-1's 400 - 150 - 250 = 0


def test_the_tier_snapshot_counts_the_customers_per_tier(world):
    with time_machine.travel(utc(2025, 3, 6, 12), tick=False):
        update_rollups()
    expected = Counter(
        (t.customer.environment, f"{t.structure.code}/{t.tier.code}")
        for t in CustomerTier.objects.select_related("customer", "structure", "tier")
    )
    got = {
        (r.environment, r.key): r.value
        for r in DailyFigure.objects.filter(metric="tier_members", day=dt.date(2025, 3, 6))
    }
    assert got == dict(expected) and sum(got.values()) > 0


def test_the_rebuild_command_gives_the_same_figures_as_the_task(world, capsys):
    with time_machine.travel(utc(2025, 3, 6, 12), tick=False):
        update_rollups()
        update_rollups()
        incremental = stored()
        DailyFigure.objects.filter(metric="enrolled").update(value=99)  # damage to be repaired
        call_command("rebuild_dashboard")
    assert stored() == incremental == direct_counts()
    assert "Counted" in capsys.readouterr().out
    assert RollupState.objects.get().rebuilt_at is not None


def test_a_rebuild_counts_in_chunks(world, monkeypatch):
    monkeypatch.setattr(rollups, "REBUILD_CHUNK", 3)
    rebuild_rollups()
    assert stored() == direct_counts()
    assert liability() == balances()


def test_the_tier_snapshot_counts_a_tier_that_expired_before_the_review_in_the_tier_it_falls_to(program):
    """The manual example of docs/ledger.md "Tiers change with time": gold set until 2026-01-15;
    400 days on, with no event and no hourly review yet, the dashboard counts the customer in
    bronze, as the API and the console show them."""
    make_structure()
    with time_machine.travel(START, tick=False) as moment:
        reg("opt_in")
        reg("tier_change", structure="basic", tier="gold", expiration_date="2026-01-15")
        rollups.snapshot_tiers(START.date())
        assert {r.key: r.value for r in DailyFigure.objects.filter(metric="tier_members")} == {
            "basic/gold": 1
        }
        moment.move_to(START + dt.timedelta(days=400))
        assert CustomerTier.objects.get().tier.code == "gold"  # stored: the review has not run
        day = (START + dt.timedelta(days=400)).date()
        rollups.snapshot_tiers(day)
        got = {r.key: r.value for r in DailyFigure.objects.filter(metric="tier_members", day=day)}
        assert got == {"basic/bronze": 1}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the registers are computed by PostgreSQL")
def test_postgresql_computes_the_same_registers_as_the_sketch_would_from_its_hash(db):
    """REGISTERS_SQL's bit arithmetic (register from the low bits, rank from the first 1 of the
    rest) agrees with dashboard.sketch's, applied to the same 64-bit hashes; the highest rank per
    register wins."""
    ids = [*range(1, 3000), 2**40 + 7, 2**62, 123456789]
    sql = rollups.REGISTERS_SQL.format(
        members="SELECT 'live' AS environment, DATE '2025-03-01' AS local_day, id AS customer_id "
        "FROM unnest(%s::bigint[]) AS id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])
        got = {register: rank for _, _, register, rank in cursor.fetchall()}
        cursor.execute("SELECT hashint8extended(id, 0) FROM unnest(%s::bigint[]) AS id", [ids])
        hashes = [h % 2**64 for (h,) in cursor.fetchall()]
    expected: dict[int, int] = {}
    for h in hashes:
        register, rest = h & (sketch.M - 1), h >> sketch.P
        rank = (64 - sketch.P) - rest.bit_length() + 1
        expected[register] = max(expected.get(register, 0), rank)
    assert got == expected and len(got) > 1000
    assert max(got.values()) > 5  # ranks beyond the first few bits are read too


def test_refunds_are_subtracted_from_the_revenue_on_the_day_they_are_given_back(program):
    """Net revenue: a checkout of 100 on 1 March, 30 given back on 2 March (partial_refund), one
    item on 3 March (refund_item: its share, as the transaction records it) and the rest on 4 March
    (refund): the refunds figure holds each day's money given back, the card the checkouts less
    the refunds."""
    from dashboard.figures import dashboard_figures
    from transactions.models import Transaction

    def refunded() -> Decimal:
        return Transaction.objects.get(transaction_id="T-9").refunded_value

    items = [
        {"product_id": "P-1", "quantity": 1, "subtotal": 20},
        {"product_id": "P-2", "quantity": 1, "subtotal": 80},
    ]
    given = {}
    with time_machine.travel(utc(2025, 3, 1, 10), tick=False) as moment:
        register("opt_in", "R-1")
        register("checkout", "R-1", {"transaction_id": "T-9", "total": 100, "items": items})
        moment.move_to(utc(2025, 3, 2, 10))
        register("partial_refund", "R-1", {"transaction_id": "T-9", "amount": 30})
        given[2] = refunded()
        moment.move_to(utc(2025, 3, 3, 10))
        register("refund_item", "R-1", {"transaction_id": "T-9", "product_id": "P-1"})
        given[3] = refunded() - given[2]
        moment.move_to(utc(2025, 3, 4, 10))
        register("refund", "R-1", {"transaction_id": "T-9"})
        given[4] = refunded() - given[2] - given[3]
        update_rollups()
        update_rollups()
    assert given[2] == Decimal("30.00") and given[3] > 0 and given[4] > 0 and refunded() == 100
    refunds = {row.day.day: (row.value, row.amount) for row in DailyFigure.objects.filter(metric="refunds")}
    assert refunds == {day: (1, amount) for day, amount in given.items()}
    kpis = {
        k.label: k.value for k in dashboard_figures("live", dt.date(2025, 3, 1), dt.date(2025, 3, 4))["kpis"]
    }
    assert kpis["Purchases"] == 1 and kpis["Net revenue from members"] == Decimal("0.00")
    kpis = {
        k.label: k.value for k in dashboard_figures("live", dt.date(2025, 3, 1), dt.date(2025, 3, 2))["kpis"]
    }
    assert kpis["Net revenue from members"] == Decimal("70.00")
    counted = sorted(DailyFigure.objects.values_list("day", "metric", "key", "value", "amount"))
    rebuild_rollups()  # the rebuild counts the same refunds
    assert sorted(DailyFigure.objects.values_list("day", "metric", "key", "value", "amount")) == counted
