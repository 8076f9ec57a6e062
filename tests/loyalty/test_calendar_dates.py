"""Issue 13 §1: a date without a time names a calendar day in the program's time zone.

Expiration dates run through the end of that local day (23:59:59), activation and start dates
from its start, naive date-times are local time; on every date attribute of the engine (points,
change_expiration, tiers, coupons, effective_timestamp), through the API and the console's
date pickers, including the days daylight saving time changes."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from coupons.models import Coupon, CouponPool
from coupons.pools import import_codes
from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.models import CustomerTier, PointAccount, PointLot, Program, Tier, TierStructure
from loyalty.tasks import expire_and_activate
from transactions.models import Transaction

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def set_zone(name: str) -> None:
    program = Program.objects.get(pk=Program.current().pk)
    program.time_zone = name
    program.save()


def reg(action, customer="nyc", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


def test_the_issue_example_points_stay_spendable_through_the_end_of_the_local_day(program):
    set_zone("America/New_York")
    with time_machine.travel(utc(2025, 3, 1, 15), tick=False) as traveller:
        reg("opt_in")
        reg("point_add", points=100, expiration_date="2025-03-10")
        lot = PointLot.objects.get()
        assert lot.expires_at == utc(2025, 3, 11, 3, 59, 59)  # 10 March 23:59:59 EDT
        traveller.move_to(utc(2025, 3, 10, 1))  # 9 March 20:00 in New York: the old bug's run
        expire_and_activate()
        assert Customer.objects.get(customer_id="nyc").spendable == 100
        traveller.move_to(utc(2025, 3, 11, 3, 59, 58))  # still 10 March in New York
        expire_and_activate()
        assert Customer.objects.get(customer_id="nyc").spendable == 100
        traveller.move_to(utc(2025, 3, 11, 5))
        expire_and_activate()
        assert Customer.objects.get(customer_id="nyc").spendable == 0
        assert Event.objects.get(action="point_expire").points == -100


def test_in_a_utc_program_a_date_expires_at_the_end_of_that_day(program):
    with time_machine.travel(utc(2025, 3, 1, 15), tick=False):
        reg("point_add", points=100, expiration_date="2025-03-10")
    assert PointLot.objects.get().expires_at == utc(2025, 3, 10, 23, 59, 59)


# (zone, date, expiration = end of the local day, activation = start of the local day), in UTC;
# the rows in March/October/November are the days daylight saving time changes.
DATE_TABLE = [
    ("UTC", "2025-03-10", utc(2025, 3, 10, 23, 59, 59), utc(2025, 3, 10, 0, 0)),
    ("America/New_York", "2025-03-10", utc(2025, 3, 11, 3, 59, 59), utc(2025, 3, 10, 4, 0)),
    ("America/New_York", "2025-03-09", utc(2025, 3, 10, 3, 59, 59), utc(2025, 3, 9, 5, 0)),  # 23 h
    ("America/New_York", "2025-11-02", utc(2025, 11, 3, 4, 59, 59), utc(2025, 11, 2, 4, 0)),  # 25 h
    ("Europe/Budapest", "2025-03-30", utc(2025, 3, 30, 21, 59, 59), utc(2025, 3, 29, 23, 0)),
    ("Europe/Budapest", "2025-10-26", utc(2025, 10, 26, 22, 59, 59), utc(2025, 10, 25, 22, 0)),
    ("Pacific/Kiritimati", "2025-06-01", utc(2025, 6, 1, 9, 59, 59), utc(2025, 5, 31, 10, 0)),  # +14:00
]


@pytest.mark.parametrize("zone, day, end, start", DATE_TABLE)
def test_point_expiration_and_activation_dates_are_local_days(program, zone, day, end, start):
    set_zone(zone)
    with time_machine.travel(utc(2025, 1, 2, 12), tick=False):
        reg("point_add", points=10, expiration_date=day)
        reg("point_add", points=20, activation_date=day)
        reg("point_add", points=30)
        lot = PointLot.objects.get(points=30)
        reg("change_expiration", lots=[lot.pk], expiration_date=day)
    assert PointLot.objects.get(points=10).expires_at == end
    assert PointLot.objects.get(points=10).event.expires_at == end
    assert PointLot.objects.get(points=20).activates_at == start
    assert PointLot.objects.get(points=30).expires_at == end


@pytest.mark.parametrize("zone, day, end, start", DATE_TABLE)
def test_tier_and_coupon_expiration_dates_are_local_days(program, zone, day, end, start):
    set_zone(zone)
    structure = TierStructure.objects.create(code="basic", name="Basic")
    for code, threshold in (("bronze", 0), ("gold", 500)):
        Tier.objects.create(structure=structure, code=code, name=code, threshold=threshold)
    pool = CouponPool.objects.create(name="Ten", type="amount", value=10, usage_limit=1)
    import_codes(pool, "DAY-1\n")
    with time_machine.travel(utc(2025, 1, 2, 12), tick=False):
        reg("opt_in")
        reg("tier_change", structure="basic", tier="gold", expiration_date=day)
        assert CustomerTier.objects.get().expires_at == end
        reg("tier_expiration_change", structure="basic", expiration_date=day)
        assert CustomerTier.objects.get().expires_at == end
        reg("coupon_assign", code="DAY-1")
        reg("coupon_expiration_change", code="DAY-1", expiration_date=day)
    assert Coupon.objects.get().expires_at == end


@pytest.mark.parametrize(
    "zone, value, expected",
    [
        ("America/New_York", "2025-03-10T12:00:00", utc(2025, 3, 10, 16)),  # EDT
        ("America/New_York", "2025-03-08T12:00:00", utc(2025, 3, 8, 17)),  # EST
        ("America/New_York", "2025-03-09T02:30:00", utc(2025, 3, 9, 7, 30)),  # the skipped hour: EST
        ("America/New_York", "2025-03-10T12:00:00Z", utc(2025, 3, 10, 12)),  # aware: as given
        ("Europe/Budapest", "2025-07-01T00:00:00", utc(2025, 6, 30, 22)),
    ],
)
def test_a_naive_date_time_is_read_in_the_program_time_zone(program, zone, value, expected):
    set_zone(zone)
    with time_machine.travel(utc(2025, 1, 2, 12), tick=False):
        reg("point_add", points=10, expiration_date=value)
    assert PointLot.objects.get().expires_at == expected


def test_effective_timestamp_sets_when_the_event_counts_while_registration_stays_now(program):
    PointAccount.objects.get_or_create(code="points", defaults={"name": "Points", "is_default": True})
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="fixed_period", expiration_period=12, expiration_unit="months"
    )
    now = utc(2025, 6, 1, 12)
    backdated = utc(2025, 1, 15, 9)
    with time_machine.travel(now, tick=False):
        reg("opt_in")
        result = reg("point_add", points=50, effective_timestamp=int(backdated.timestamp()))
        reg("checkout", transaction_id="T-back", total=30, effective_timestamp="2025-01-20T10:00:00Z")
    event = result.event
    assert (event.timestamp, event.effective_at) == (now, backdated)
    assert event.expires_at == utc(2026, 1, 15, 9)  # 12 months from when it counts, not from now
    assert PointLot.objects.get(points=50).expires_at == utc(2026, 1, 15, 9)
    assert Transaction.objects.get().checkout_at == utc(2025, 1, 20, 10)
    customer = Customer.objects.get(customer_id="nyc")
    assert customer.purchase_last_date == dt.date(2025, 1, 20)
    assert customer.purchase_total == Decimal("30")


def test_a_future_effective_timestamp_is_refused(program):
    from loyalty.errors import ValidationError

    with time_machine.travel(utc(2025, 6, 1, 12), tick=False):
        reg("opt_in")
        with pytest.raises(ValidationError) as refused:
            reg("login", effective_timestamp="2025-06-02")
    assert refused.value.field == "data.effective_timestamp"


def test_the_console_date_picker_gives_the_end_of_the_local_day(program, admin_client):
    set_zone("America/New_York")
    with time_machine.travel(utc(2025, 3, 1, 15), tick=False):
        reg("opt_in")
        customer = Customer.objects.get(customer_id="nyc")
        url = reverse("customers:customer_manage_points", args=[customer.customer_id])
        response = admin_client.post(
            url,
            {"operation": "point_add", "points": 100, "expiration_date": "2025-03-10", "reason": "goodwill"},
        )
        assert response.status_code in (200, 302), response.content[:500]
    assert PointLot.objects.get().expires_at == utc(2025, 3, 11, 3, 59, 59)


def test_effective_timestamp_sets_the_tier_qualification_window(program):
    structure = TierStructure.objects.create(code="w", name="W", qualification_months=12)
    for code, threshold in (("bronze", 0), ("gold", 500)):
        Tier.objects.create(structure=structure, code=code, name=code, threshold=threshold)
    with time_machine.travel(utc(2025, 6, 1, 12), tick=False):
        reg("opt_in")
        reg("point_add", points=600, effective_timestamp="2024-05-01T00:00:00Z")  # 13 months ago
        assert CustomerTier.objects.get().tier.code == "bronze"
        assert CustomerTier.objects.get().tier_points == 0
        reg("point_add", points=600, effective_timestamp="2024-07-01T00:00:00Z")  # 11 months ago
        assert CustomerTier.objects.get().tier.code == "gold"
        assert CustomerTier.objects.get().tier_points == 600
