"""Expiration rules per account, with 003's "Reward expiration" examples as the rounding cases."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.ledger.expiration import add_months, expiration_for, next_absolute, round_up
from loyalty.models import PointAccount, PointLot
from loyalty.tasks import expire_and_activate

UTC = dt.UTC
SESSION = dt.datetime(2024, 10, 12, 7, 20, 50, tzinfo=UTC)  # 003: "the customer session closes on ..."


def account(rule="fixed_period", period=1, unit="months", rounding="none", date=""):
    return PointAccount(
        code="x",
        name="x",
        expiration_rule=rule,
        expiration_period=period,
        expiration_unit=unit,
        expiration_rounding=rounding,
        expiration_date=date,
    )


@pytest.mark.parametrize(
    "period, unit, rounding, expected",
    [
        (5, "days", "none", dt.datetime(2024, 10, 17, 7, 20, 50, tzinfo=UTC)),
        (5, "days", "end_of_day", dt.datetime(2024, 10, 17, 23, 59, 59, tzinfo=UTC)),
        (1, "weeks", "none", dt.datetime(2024, 10, 19, 7, 20, 50, tzinfo=UTC)),
        (1, "weeks", "end_of_week", dt.datetime(2024, 10, 20, 23, 59, 59, tzinfo=UTC)),  # the last Sunday
        (1, "months", "none", dt.datetime(2024, 11, 12, 7, 20, 50, tzinfo=UTC)),
        (1, "months", "end_of_month", dt.datetime(2024, 11, 30, 23, 59, 59, tzinfo=UTC)),
        (1, "months", "end_of_quarter", dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (1, "years", "end_of_year", dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (2, "years", "none", dt.datetime(2026, 10, 12, 7, 20, 50, tzinfo=UTC)),
    ],
)
def test_fixed_period_with_rounding_follows_the_reference_examples(period, unit, rounding, expected):
    assert expiration_for(account(period=period, unit=unit, rounding=rounding), SESSION) == expected


def test_rounding_happens_in_the_program_time_zone():
    budapest = expiration_for(
        account(period=5, unit="days", rounding="end_of_day"), SESSION, time_zone="Europe/Budapest"
    )
    assert budapest == dt.datetime(2024, 10, 17, 23, 59, 59, tzinfo=ZoneInfo("Europe/Budapest"))
    assert budapest.utcoffset() == dt.timedelta(0)  # returned in UTC
    assert budapest == dt.datetime(2024, 10, 17, 21, 59, 59, tzinfo=UTC)


def test_no_rule_and_the_switched_off_module_never_expire():
    assert expiration_for(account(rule="none"), SESSION) is None
    assert expiration_for(account(), SESSION, enabled=False) is None


def test_absolute_date_is_the_next_occurrence_at_the_end_of_that_day():
    rule = account(rule="absolute", date="12-31")
    assert expiration_for(rule, SESSION) == dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
    late = dt.datetime(2024, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert expiration_for(rule, late) == dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert next_absolute(dt.datetime(2025, 3, 1, tzinfo=UTC), "02-29") == dt.datetime(
        2026, 2, 28, 23, 59, 59, tzinfo=UTC
    )
    assert next_absolute(dt.datetime(2027, 3, 1, tzinfo=UTC), "02-29") == dt.datetime(
        2028, 2, 29, 23, 59, 59, tzinfo=UTC
    )


def test_month_arithmetic_clamps_the_day_and_quarters_end_on_their_last_day():
    assert add_months(dt.datetime(2024, 1, 31, tzinfo=UTC), 1) == dt.datetime(2024, 2, 29, tzinfo=UTC)
    assert add_months(dt.datetime(2024, 11, 30, tzinfo=UTC), 3) == dt.datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(dt.datetime(2024, 3, 31, tzinfo=UTC), -1) == dt.datetime(2024, 2, 29, tzinfo=UTC)
    assert round_up(dt.datetime(2024, 5, 2, tzinfo=UTC), "end_of_quarter") == dt.datetime(
        2024, 6, 30, 23, 59, 59, tzinfo=UTC
    )


@pytest.mark.django_db
def test_point_add_without_a_date_uses_the_account_rule(program):
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period",
        expiration_period=5,
        expiration_unit="days",
        expiration_rounding="end_of_day",
    )
    PointAccount.objects.get_or_create(code="points", defaults={"name": "Points", "is_default": True})
    with time_machine.travel(SESSION, tick=False):
        result = register_event(environment="live", customer="ed", action="point_add", data={"points": 5})
    expected = dt.datetime(2024, 10, 17, 23, 59, 59, tzinfo=UTC)
    assert result.event.expires_at == expected == PointLot.objects.get().expires_at


@pytest.mark.django_db
def test_migrated_history_expires_from_its_effective_time(program):
    PointAccount.objects.get_or_create(code="points", defaults={"name": "Points", "is_default": True})
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period", expiration_period=1, expiration_unit="months"
    )
    with time_machine.travel(SESSION, tick=False):
        register_event(
            environment="live",
            customer="ed",
            action="point_add",
            data={"points": 5},
            effective_timestamp="2024-08-01T10:00:00+00:00",
        )
        lot = PointLot.objects.get()
        assert lot.expires_at == dt.datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
        assert expire_and_activate()["expired_lots"] == 1


@pytest.mark.django_db
def test_dynamic_expiration_moves_with_every_activity_and_updates_the_events(program):
    PointAccount.objects.get_or_create(code="points", defaults={"name": "Points", "is_default": True})
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="dynamic",
        expiration_period=3,
        expiration_unit="months",
        expiration_rounding="end_of_day",
    )
    with time_machine.travel(SESSION, tick=False) as clock:
        first = register_event(
            environment="live", customer="dee", action="point_add", data={"points": 50}
        ).event
        assert first.expires_at == dt.datetime(2025, 1, 12, 23, 59, 59, tzinfo=UTC)
        clock.move_to(dt.datetime(2024, 12, 1, 9, 0, tzinfo=UTC))
        register_event(environment="live", customer="dee", action="point_spend", data={"points": 10})
        moved = dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)
        assert PointLot.objects.get().expires_at == moved
        assert Event.objects.get(pk=first.pk).expires_at == moved
        clock.move_to(dt.datetime(2025, 3, 2, tzinfo=UTC))
        counts = expire_and_activate()  # system events are not activity: no push, the lot expires
    assert counts["expired_lots"] == 1
    customer = Customer.objects.get(customer_id="dee")
    assert (customer.expired, customer.spendable) == (40, 0)


@pytest.mark.django_db
def test_nothing_expires_while_the_expiring_points_module_is_off(program):
    with time_machine.travel(SESSION, tick=False) as clock:
        register_event(
            environment="live",
            customer="ed",
            action="point_add",
            data={"points": 5, "expiration_date": "2024-10-13T00:00:00+00:00"},
        )
        program.expiring_points = False
        program.save()
        clock.move_to(dt.datetime(2024, 11, 1, tzinfo=UTC))
        assert expire_and_activate()["expired_lots"] == 0
        program.expiring_points = True
        program.save()
        assert expire_and_activate()["expired_lots"] == 1


@pytest.mark.django_db
def test_run_expiration_command_and_the_hourly_schedule_exist(program):
    from django.core.management import call_command
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="loyalty.tasks.expire_and_activate")
    assert schedule.schedule_type == Schedule.HOURLY
    with time_machine.travel(SESSION, tick=False):
        register_event(
            environment="live",
            customer="ed",
            action="point_add",
            data={"points": 5, "activation_date": "2024-10-12T08:00:00+00:00"},
        )
    from io import StringIO

    out = StringIO()
    with time_machine.travel(dt.datetime(2024, 10, 12, 9, 0, tzinfo=UTC), tick=False):
        call_command("run_expiration", stdout=out)
    assert "activated_lots: 1" in out.getvalue()
    assert Customer.objects.get(customer_id="ed").spendable == 5


@pytest.mark.django_db
def test_the_run_skips_anonymized_profiles(program):
    with time_machine.travel(SESSION, tick=False):
        register_event(
            environment="live",
            customer="gone",
            action="point_add",
            data={"points": 5, "expiration_date": "2024-10-13T00:00:00+00:00"},
        )
    Customer.objects.filter(customer_id="gone").update(anonymized_at=SESSION, status="opted_out")
    with time_machine.travel(dt.datetime(2024, 11, 1, tzinfo=UTC), tick=False):
        counts = expire_and_activate()
    assert (counts["expired_lots"], counts["errors"]) == (0, 0)
