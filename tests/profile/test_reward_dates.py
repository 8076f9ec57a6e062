"""003's two example tables ("Relative reward start" and "Relative reward expiration"), row by
row, through the engine: the customer session closes on 12 October 2024, 07:20:50.

003's "5 day(s) after the session -> 17 October 2023, 07:20:50" is an evident typo (a session
closing in 2024 cannot give a date in 2023); the test expects 17 October 2024, 07:20:50.
"""

import datetime as dt

import pytest
import time_machine

from events.engine import register_event
from loyalty.errors import ValidationError
from loyalty.ledger import reward_dates
from loyalty.models import PointLot, Program

SESSION_CLOSES = dt.datetime(2024, 10, 12, 7, 20, 50, tzinfo=dt.UTC)


def at(*parts):
    return dt.datetime(*parts, tzinfo=dt.UTC)


# (003's "relative" column as the form gives it, 003's expected date). Both tables are the same.
TABLE_003 = [
    ("10 minutes", at(2024, 10, 12, 7, 30, 50)),
    ("1 hours", at(2024, 10, 12, 8, 20, 50)),
    ("5 days", at(2024, 10, 17, 7, 20, 50)),  # 003 prints 2023: typo, see the module docstring
    ("5 days@start_of_day", at(2024, 10, 17, 0, 0, 0)),
    ("5 days@end_of_day", at(2024, 10, 17, 23, 59, 59)),
    ("1 weeks", at(2024, 10, 19, 7, 20, 50)),
    ("1 weeks@last_sunday", at(2024, 10, 20, 23, 59, 59)),
    ("1 months", at(2024, 11, 12, 7, 20, 50)),
    ("1 months@last_day_of_month", at(2024, 11, 30, 23, 59, 59)),
]

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_close():
    with time_machine.travel(SESSION_CLOSES, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(session_close):
    register_event(environment="live", customer="alice", action="opt_in", data={})
    return "alice"


def add(customer, **data):
    return register_event(
        environment="live", customer=customer, action="point_add", data={"points": 10, **data}
    )


@pytest.mark.parametrize(("relative", "expected"), TABLE_003)
def test_003_relative_reward_start(alice, relative, expected):
    result = add(alice, reward_start=relative, reward_expiration="unlimited")
    lot = PointLot.objects.get(event=result.event)
    assert lot.activates_at == expected
    assert lot.status == "pending"
    assert lot.expires_at is None


@pytest.mark.parametrize(("relative", "expected"), TABLE_003)
def test_003_relative_reward_expiration(alice, relative, expected):
    result = add(alice, reward_start="immediate", reward_expiration=relative)
    lot = PointLot.objects.get(event=result.event)
    assert lot.expires_at == expected
    assert result.event.expires_at == expected  # the event row says the same
    assert lot.status == "active"


@pytest.mark.parametrize(
    "spec", ["10m", "1h", "5D", "5D@start_of_day", "1W@last_sunday", "1M@last_day_of_month"]
)
def test_short_forms_equal_the_words(spec):
    words = {"m": "minutes", "h": "hours", "D": "days", "W": "weeks", "M": "months"}
    amount, unit = spec.split("@")[0][:-1], spec.split("@")[0][-1]
    long = f"{amount} {words[unit]}" + (f"@{spec.split('@')[1]}" if "@" in spec else "")
    one = reward_dates.resolve(spec, kind="start", base=SESSION_CLOSES, time_zone="UTC", field="f")
    two = reward_dates.resolve(long, kind="start", base=SESSION_CLOSES, time_zone="UTC", field="f")
    assert one.moment == two.moment == dict(TABLE_003)[long]


def test_snaps_follow_the_program_time_zone():
    # 07:20:50 UTC is 09:20:50 in Berlin (CEST); the end of that local day is 21:59:59 UTC.
    resolved = reward_dates.resolve(
        "5 days@end_of_day", kind="start", base=SESSION_CLOSES, time_zone="Europe/Berlin", field="f"
    )
    assert resolved.moment == at(2024, 10, 17, 21, 59, 59)


def test_last_day_of_month_clamps_short_months():
    base = at(2025, 1, 31, 10, 0, 0)
    resolved = reward_dates.resolve("1 months", kind="expiration", base=base, time_zone="UTC", field="f")
    assert resolved.moment == at(2025, 2, 28, 10, 0, 0)


def test_program_default_uses_the_account_rule(alice):
    result = add(alice)
    lot = PointLot.objects.get(event=result.event)
    assert lot.activates_at is None and lot.status == "active"
    assert lot.expires_at is None  # the default account's rule is "never expire"


def test_absolute_dates(alice):
    result = add(alice, reward_start="2024-11-01T10:00:00+00:00", reward_expiration="2025-01-31")
    lot = PointLot.objects.get(event=result.event)
    assert lot.activates_at == at(2024, 11, 1, 10, 0, 0)
    assert lot.expires_at == at(2025, 1, 31, 23, 59, 59)  # a date alone means its end


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reward_start": "1000 months"}, "data.reward_start"),  # the bad-input example
        ({"reward_expiration": "1000 months"}, "data.reward_expiration"),
        ({"reward_start": "121 months"}, "data.reward_start"),
        ({"reward_start": "99999 weeks"}, "data.reward_start"),
        ({"reward_start": "5 fortnights"}, "data.reward_start"),
        ({"reward_start": "5 days@next_friday"}, "data.reward_start"),
        ({"reward_start": "0 days"}, "data.reward_start"),
        ({"reward_start": "unlimited"}, "data.reward_start"),  # only an expiration is unlimited
        ({"reward_expiration": "immediate"}, "data.reward_expiration"),
        ({"reward_start": "tomorrow"}, "data.reward_start"),
        ({"reward_expiration": "2020-01-01"}, "data.reward_expiration"),  # in the past
        ({"reward_start": "2 days", "reward_expiration": "2024-10-13T00:00:00Z"}, "data.reward_expiration"),
        ({"reward_start": "2 days", "activation_date": "2024-10-20T00:00:00Z"}, "data.reward_start"),
        ({"reward_expiration": "9999-12-31T23:59:59-12:00"}, "data.reward_expiration"),
    ],
)
def test_bad_choices_are_refused_and_change_nothing(alice, data, field):
    with pytest.raises(ValidationError) as error:
        add(alice, **data)
    assert error.value.field == field
    assert not PointLot.objects.exists()


def test_ten_years_is_the_limit_of_a_relative_date(alice):
    result = add(alice, reward_expiration="120 months")
    assert PointLot.objects.get(event=result.event).expires_at == at(2034, 10, 12, 7, 20, 50)


def test_program_time_zone_applies_through_the_engine(alice):
    program = Program.objects.get()
    program.time_zone = "Europe/Berlin"
    program.save()
    result = add(alice, reward_expiration="1 weeks@last_sunday")
    assert PointLot.objects.get(event=result.event).expires_at == at(2024, 10, 20, 21, 59, 59)


def test_a_relative_expiration_counts_from_the_reward_start(alice):
    result = add(alice, reward_start="2 days", reward_expiration="1 days")
    lot = PointLot.objects.get(event=result.event)
    assert lot.activates_at == at(2024, 10, 14, 7, 20, 50)
    assert lot.expires_at == at(2024, 10, 15, 7, 20, 50)
