"""The points ledger handlers, one behaviour per test, through the engine as every caller does."""

import datetime as dt

import pytest
import time_machine

from customers.choices import CustomerStatus
from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError, InsufficientPoints, StatusForbids, ValidationError
from loyalty.ledger import lots as ledger_lots
from loyalty.ledger.checks import verify_customer
from loyalty.models import LedgerEntry, PointAccount, PointBalance, PointLot
from loyalty.models.ledger import EntryKind, LotStatus
from loyalty.tasks import expire_and_activate

START = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def reg(action, customer="alice", account=None, **data):
    return register_event(environment="live", customer=customer, action=action, data=data, account=account)


def customer(customer_id="alice"):
    return Customer.objects.get(environment="live", customer_id=customer_id)


def figures(customer_id="alice"):
    c = customer(customer_id)
    return {
        "score": c.score,
        "spent": c.spent,
        "spendable": c.spendable,
        "pending": c.pending,
        "reserved": c.reserved,
        "expired": c.expired,
    }


def set_status(status, customer_id="alice"):
    Customer.objects.filter(customer_id=customer_id).update(status=status)


def consistent(customer_id="alice"):
    problems = verify_customer(customer(customer_id))
    assert problems == []
    return True


pytestmark = pytest.mark.django_db


def test_point_add_creates_a_lot_an_entry_and_the_balance(clock, program):
    result = reg("point_add", points=100)
    lot = PointLot.objects.get()
    assert (lot.points, lot.status, lot.event_id) == (100, LotStatus.ACTIVE, result.event.pk)
    assert result.event.points == 100
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.spendable_after, entry.lot_id) == (
        EntryKind.EARN,
        100,
        100,
        lot.pk,
    )
    assert figures() == {
        "score": 100,
        "spent": 0,
        "spendable": 100,
        "pending": 0,
        "reserved": 0,
        "expired": 0,
    }
    assert result.balances_after["points"]["spendable"] == 100
    assert [lot.pk for lot in result.lots_created] == [lot.pk]
    assert consistent()


def test_point_add_refuses_non_positive_points(clock, program):
    for bad in (0, -5):
        with pytest.raises(ValidationError) as error:
            reg("point_add", points=bad)
        assert error.value.field == "data.points"
    assert not Event.objects.exists() and not PointLot.objects.exists()


def test_point_add_with_an_expiration_date_stores_it_on_the_lot_and_the_event(clock, program):
    result = reg("point_add", points=10, expiration_date="2025-06-01T00:00:00+00:00")
    expected = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert PointLot.objects.get().expires_at == expected
    assert Event.objects.get(pk=result.event.pk).expires_at == expected


def test_point_add_refuses_an_expiration_date_in_the_past(clock, program):
    with pytest.raises(ValidationError):
        reg("point_add", points=10, expiration_date="2025-01-01T00:00:00+00:00")
    assert not Event.objects.exists()


def test_point_add_with_a_future_activation_date_is_pending_until_activated(clock, program):
    reg("point_add", points=50, activation_date="2025-03-12T00:00:00+00:00")
    assert figures()["pending"] == 50 and figures()["spendable"] == 0 and figures()["score"] == 50
    with pytest.raises(InsufficientPoints):
        reg("point_spend", points=1)
    assert expire_and_activate()["activated_lots"] == 0
    clock.move_to(dt.datetime(2025, 3, 12, 0, 0, 1, tzinfo=dt.UTC))
    counts = expire_and_activate()
    assert counts["activated_lots"] == 1 and counts["events"] == 1
    assert figures()["pending"] == 0 and figures()["spendable"] == 50
    activation = Event.objects.get(action="point_activate")
    assert (activation.points, activation.source, activation.data["lots"]) == (
        50,
        "system",
        [PointLot.objects.get().pk],
    )
    assert consistent()


def test_banned_customers_cannot_earn(clock, program):
    reg("point_add", points=10)
    set_status(CustomerStatus.BANNED)
    with pytest.raises(StatusForbids):
        reg("point_add", points=10)
    assert figures()["score"] == 10 and Event.objects.count() == 1


def test_suspended_customers_earn_but_cannot_spend(clock, program):
    reg("point_add", points=10)
    set_status(CustomerStatus.SUSPENDED)
    reg("point_add", points=5)
    with pytest.raises(StatusForbids):
        reg("point_spend", points=1)
    with pytest.raises(StatusForbids):
        reg("reserve_points", points=1)
    assert figures()["spendable"] == 15 and figures()["spent"] == 0


def test_spend_consumes_lots_first_expiring_first_then_never_expiring_then_oldest(clock, program):
    never_a = reg("point_add", points=10).event
    late = reg("point_add", points=10, expiration_date="2025-09-01T00:00:00+00:00").event
    early = reg("point_add", points=10, expiration_date="2025-05-01T00:00:00+00:00").event
    never_b = reg("point_add", points=10).event
    result = reg("point_spend", points=35)
    used = {lot.event_id: lot.used for lot in PointLot.objects.all()}
    assert used == {early.pk: 10, late.pk: 10, never_a.pk: 10, never_b.pk: 5}
    assert [c["points"] for c in result.lots_consumed] == [10, 10, 10, 5]
    assert result.event.points == -35
    assert [e.spendable_after for e in result.ledger_entries] == [30, 20, 10, 5]
    assert PointLot.objects.filter(status=LotStatus.EXHAUSTED).count() == 3
    assert figures() == {"score": 40, "spent": 35, "spendable": 5, "pending": 0, "reserved": 0, "expired": 0}
    assert consistent()


def test_spend_beyond_spendable_is_refused_and_changes_nothing(clock, program):
    reg("point_add", points=10)
    with pytest.raises(InsufficientPoints) as error:
        reg("point_spend", points=11)
    assert error.value.code == 160423
    assert figures()["spendable"] == 10 and Event.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_sub_lowers_score_and_spendable_and_is_refused_past_spendable(clock, program):
    reg("point_add", points=30)
    result = reg("point_sub", points=12)
    assert result.event.points == -12
    assert figures() == {"score": 18, "spent": 0, "spendable": 18, "pending": 0, "reserved": 0, "expired": 0}
    with pytest.raises(InsufficientPoints):
        reg("point_sub", points=19)
    assert consistent()


def test_unspend_gives_a_spend_back_as_a_new_lot(clock, program):
    reg("point_add", points=30)
    spend = reg("point_spend", points=20).event
    result = reg("point_unspend", points=15, spend_event=spend.pk)
    assert result.event.points == 15
    assert figures() == {"score": 30, "spent": 5, "spendable": 25, "pending": 0, "reserved": 0, "expired": 0}
    with pytest.raises(BusinessRuleError):
        reg("point_unspend", points=6)
    with pytest.raises(BusinessRuleError):
        reg("point_unspend", points=5, spend_event=reg("point_spend", points=1).event.pk)
    with pytest.raises(ValidationError):
        reg("point_unspend", points=1, spend_event=999999)
    assert consistent()


def test_reserve_and_release_move_points_between_spendable_and_reserved(clock, program):
    reg("point_add", points=40)
    reg("reserve_points", points=25)
    assert figures()["spendable"] == 15 and figures()["reserved"] == 25
    with pytest.raises(InsufficientPoints):
        reg("point_spend", points=16)
    with pytest.raises(InsufficientPoints):
        reg("release_points", points=26)
    reg("release_points", points=10)
    assert figures()["spendable"] == 25 and figures()["reserved"] == 15
    assert consistent()


def test_reserved_points_of_an_expired_lot_expire_when_released(clock, program):
    reg("point_add", points=40, expiration_date="2025-03-11T00:00:00+00:00")
    reg("reserve_points", points=25)
    clock.move_to(dt.datetime(2025, 3, 12, tzinfo=dt.UTC))
    expire_and_activate()
    assert figures() == {"score": 40, "spent": 0, "spendable": 0, "pending": 0, "reserved": 25, "expired": 15}
    reg("release_points", points=25)
    assert figures() == {"score": 40, "spent": 0, "spendable": 0, "pending": 0, "reserved": 0, "expired": 40}
    assert consistent()


def test_spend_helper_can_spend_reserved_points(clock, program):
    from loyalty.context import EventResult, HandlerContext
    from loyalty.ledger import operations as ledger

    reg("point_add", points=40)
    reg("reserve_points", points=25)
    c = Customer.objects.select_for_update().get(customer_id="alice")
    event = reg("point_add", points=1).event  # any event of the customer to hang the entries on
    c.refresh_from_db()
    ctx = HandlerContext(
        event=event,
        customer=c,
        program=program,
        account=None,
        data={},
        now=START,
        result=EventResult(),
        emit=None,
    )
    ledger.spend(ctx, 20, from_reserved=True)
    c.save()
    assert figures() == {"score": 41, "spent": 20, "spendable": 16, "pending": 0, "reserved": 5, "expired": 0}
    assert consistent()


def test_expiration_run_expires_due_lots_once_and_records_the_event(clock, program):
    reg("point_add", points=10, expiration_date="2025-03-11T00:00:00+00:00")
    reg("point_add", points=7)
    clock.move_to(dt.datetime(2025, 3, 11, 0, 0, 1, tzinfo=dt.UTC))
    first = expire_and_activate()
    assert first["expired_lots"] == 1 and first["events"] == 1
    assert expire_and_activate()["expired_lots"] == 0
    assert figures() == {"score": 17, "spent": 0, "spendable": 7, "pending": 0, "reserved": 0, "expired": 10}
    event = Event.objects.get(action="point_expire")
    assert (event.points, event.source) == (-10, "system")
    assert consistent()


def test_point_expire_cannot_be_registered_from_outside(clock, program):
    from loyalty.errors import InternalAction

    reg("point_add", points=10)
    with pytest.raises(InternalAction):
        reg("point_expire", points=10)


def test_change_expiration_moves_the_lot_and_the_earning_event(clock, program, admin_user):
    add = reg("point_add", points=10, expiration_date="2025-12-01T00:00:00+00:00").event
    lot = PointLot.objects.get()
    result = register_event(
        environment="live",
        customer="alice",
        action="change_expiration",
        data={"lots": [lot.pk], "expiration_date": "2026-01-31T00:00:00+00:00"},
        source="platform",
        admin_user=admin_user,
        reason="goodwill",
    )
    new = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert PointLot.objects.get().expires_at == new
    assert Event.objects.get(pk=add.pk).expires_at == new
    assert (result.event.admin_user, result.event.reason) == (admin_user, "goodwill")


def test_change_expiration_to_the_past_expires_at_the_next_run(clock, program):
    reg("point_add", points=10)
    lot = PointLot.objects.get()
    reg("change_expiration", lots=[lot.pk], expiration_date="2025-03-01T00:00:00+00:00")
    assert figures()["spendable"] == 10
    expire_and_activate()
    assert figures()["spendable"] == 0 and figures()["expired"] == 10


def test_change_expiration_refuses_lots_of_other_customers_and_spent_lots(clock, program):
    reg("point_add", points=10, customer="bob")
    reg("point_add", points=10)
    bobs = PointLot.objects.get(customer__customer_id="bob")
    with pytest.raises(ValidationError) as error:
        reg("change_expiration", lots=[bobs.pk], expiration_date="2026-01-01T00:00:00+00:00")
    assert error.value.field == "data.lots"
    reg("point_spend", points=10)
    mine = PointLot.objects.get(customer__customer_id="alice")
    with pytest.raises(ValidationError):
        reg("change_expiration", lots=[mine.pk], expiration_date="2026-01-01T00:00:00+00:00")
    with pytest.raises(ValidationError):
        reg("change_expiration", lots=["x"], expiration_date="2026-01-01T00:00:00+00:00")


def test_accounts_keep_separate_balances_and_customer_figures_are_the_default_accounts(clock, program):
    """Issue 16 §3: "Spendable 8772" added Status points (8000) to real points (772); the
    customer's top-level figures are the default account's, other accounts stay separate."""
    program.multi_accounts = True
    program.save()
    PointAccount.objects.create(code="miles", name="Miles")
    reg("point_add", points=10)
    reg("point_add", account="miles", points=5)
    reg("point_spend", account="miles", points=3)
    balances = {b.account.code: b.spendable for b in PointBalance.objects.select_related("account")}
    assert balances == {"points": 10, "miles": 2}
    assert figures()["spendable"] == 10 and figures()["spent"] == 0
    with pytest.raises(InsufficientPoints):
        reg("point_spend", account="miles", points=3)
    assert consistent()


def test_dry_run_explains_the_spend_and_writes_nothing(clock, program):
    reg("point_add", points=10)
    result = register_event(
        environment="live", customer="alice", action="point_spend", data={"points": 4}, dry_run=True
    )
    assert result.dry_run and result.balances_after["points"]["spendable"] == 6
    assert result.explain()["lots_consumed"][0]["points"] == 4
    assert figures()["spendable"] == 10 and Event.objects.count() == 1


def test_custom_event_points_are_credited_with_the_account_rule(clock, program):
    from events.models import EventDefinition

    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period",
        expiration_period=1,
        expiration_unit="months",
        expiration_rounding="end_of_month",
    )
    EventDefinition.objects.create(action="review", label="Review", points=25)
    result = reg("review")
    expected = dt.datetime(2025, 4, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert result.event.points == 25 and result.event.expires_at == expected
    assert PointLot.objects.get().expires_at == expected
    assert figures()["spendable"] == 25


def test_merge_into_moves_lots_balances_and_history_to_the_target(clock, program):
    from loyalty.context import EventResult, HandlerContext

    reg("point_add", customer="src", points=30, expiration_date="2025-05-01T00:00:00+00:00")
    reg("point_spend", customer="src", points=5)
    reg("point_add", points=10)
    target = Customer.objects.select_for_update().get(customer_id="alice")
    source = Customer.objects.get(customer_id="src")
    event = reg("point_add", points=1).event  # hangs the merge entries on an event of the target
    target.refresh_from_db()
    ctx = HandlerContext(
        event=event,
        customer=target,
        program=program,
        account=None,
        data={},
        now=START,
        result=EventResult(),
        emit=None,
    )
    ledger_lots.merge_into(ctx, source)
    target.save()
    source.save()  # the merge handler saves its source object afterwards: it must carry zeros
    assert figures() == {"score": 41, "spent": 5, "spendable": 36, "pending": 0, "reserved": 0, "expired": 0}
    assert figures("src") == dict.fromkeys(figures(), 0)
    assert not PointLot.objects.filter(customer=source).exists()
    assert set(LedgerEntry.objects.filter(customer=source).values_list("kind", flat=True)) == {
        EntryKind.MERGE_OUT
    }
    assert consistent() and consistent("src")
    result = reg("point_spend", points=36)  # the merged lot (earliest expiry) goes first
    assert result.lots_consumed[0]["points"] == 25


def test_several_balance_rows_and_entries_are_written_together(clock, program, django_assert_num_queries):
    """ledger_sql.write_changes: one statement on PostgreSQL (the UPDATEs as CTEs of the last
    statement), one each elsewhere; either way every row ends up as written."""
    from django.db import connection

    from loyalty.ledger import sql as ledger_sql

    program.multi_accounts = True
    program.save()
    PointAccount.objects.create(code="miles", name="Miles")
    reg("point_add", points=10)
    reg("point_add", account="miles", points=5)
    rows = list(PointBalance.objects.order_by("account__code"))
    for row, spendable in zip(rows, (7, 4), strict=True):
        row.spendable = spendable
    entries = [
        LedgerEntry(
            event=Event.objects.first(),
            customer=customer(),
            account=row.account,
            kind=EntryKind.SUB,
            amount=-1,
            spendable_after=row.spendable,
            created_at=START,
        )
        for row in rows
    ]
    single = connection.vendor == "postgresql"
    with django_assert_num_queries(1 if single else 3):
        ledger_sql.write_changes(rows, entries, START)
    assert {b.account.code: b.spendable for b in PointBalance.objects.select_related("account")} == {
        "miles": 7,
        "points": 4,
    }
    assert LedgerEntry.objects.filter(kind=EntryKind.SUB).count() == 2
    with django_assert_num_queries(1):  # one row, nothing to combine
        ledger_sql.write_changes(rows[:1], [], START)
    rows[0].spendable, rows[1].spendable = 8, 3
    with django_assert_num_queries(1 if single else 2):  # two rows, no entries: UPDATE on an UPDATE
        ledger_sql.write_changes(rows, [], START)
    assert sorted(PointBalance.objects.values_list("spendable", flat=True)) == [3, 8]
