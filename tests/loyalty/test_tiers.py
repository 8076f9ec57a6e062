"""Automatic and manual tier changes (docs/ledger.md, "Tiers")."""

import datetime as dt

import pytest
import time_machine

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError, ValidationError
from loyalty.models import CustomerTier, PointAccount, Tier, TierStructure
from loyalty.tiers import api_tiers

START = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def structure(program):
    structure = TierStructure.objects.create(code="basic", name="Basic tiers")
    for code, threshold in (("bronze", 0), ("silver", 100), ("gold", 500)):
        Tier.objects.create(structure=structure, code=code, name=code.title(), threshold=threshold)
    return structure


def reg(action, customer="tia", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


def tier_of(customer="tia", structure="basic"):
    row = CustomerTier.objects.filter(customer__customer_id=customer, structure__code=structure).first()
    return row.tier.code if row else None


def test_first_points_enter_the_lowest_tier_quietly_and_reaching_a_threshold_is_a_tier_up(clock, structure):
    reg("point_add", points=50)
    assert tier_of() == "bronze" and not Event.objects.filter(action="tier_up").exists()
    assert Customer.objects.get(customer_id="tia").tier.code == "bronze"
    result = reg("point_add", points=60)
    assert tier_of() == "silver"
    assert (result.tiers_before, result.tiers_after) == ({"basic": "bronze"}, {"basic": "silver"})
    tier_up = Event.objects.get(action="tier_up")
    assert tier_up.parent_id == result.event.pk and tier_up.data["tier"] == "silver"
    assert Customer.objects.get(customer_id="tia").tier.code == "silver"
    assert CustomerTier.objects.get().tier_points == 110


def test_spending_never_lowers_the_tier_but_a_sub_does_when_tiers_do_not_expire(clock, structure):
    reg("point_add", points=120)
    reg("point_spend", points=90)
    assert tier_of() == "silver"
    reg("point_sub", points=19)
    assert tier_of() == "silver"  # 101 tier points
    reg("point_sub", points=1)
    assert tier_of() == "silver"  # exactly the threshold
    reg("point_sub", points=1)
    assert tier_of() == "bronze"
    assert Event.objects.filter(action="tier_down").count() == 1


def test_with_a_validity_period_the_downgrade_waits_for_the_expiration(clock, structure):
    structure.tier_validity_months = 12
    structure.save()
    reg("point_add", points=120)
    reg("point_sub", points=30)
    assert tier_of() == "silver"
    assert CustomerTier.objects.get().expires_at == dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
    clock.move_to(dt.datetime(2026, 1, 16, tzinfo=dt.UTC))
    reg("point_add", points=1)
    assert tier_of() == "bronze"


def test_the_qualification_period_drops_old_points(clock, structure):
    structure.qualification_months = 12
    structure.tier_validity_months = 12
    structure.save()
    reg("point_add", points=80)
    clock.move_to(dt.datetime(2025, 9, 1, tzinfo=dt.UTC))
    reg("point_add", points=30)
    row = CustomerTier.objects.get()
    assert (row.tier.code, row.tier_points) == ("silver", 110)
    # the 80 earned in January fall out of the window before the tier's expiration (Sept 2026)
    assert row.points_after_expiration == 30
    clock.move_to(dt.datetime(2026, 9, 2, tzinfo=dt.UTC))
    reg("point_add", points=1)
    assert CustomerTier.objects.get().tier_points == 1 and tier_of() == "bronze"


def test_only_the_structures_accounts_count(clock, structure, program):
    program.multi_accounts = True
    program.save()
    miles = PointAccount.objects.create(code="miles", name="Miles")
    structure.accounts.add(miles)
    reg("point_add", points=300)  # default account: not tier points
    register_event(
        environment="live", customer="tia", action="point_add", data={"points": 100}, account="miles"
    )
    assert CustomerTier.objects.get().tier_points == 100 and tier_of() == "silver"


def test_a_manual_tier_change_locks_the_tier_until_its_expiration(clock, structure):
    reg("point_add", points=10)
    reg("tier_change", tier="gold", expiration_date="2025-06-30T00:00:00+00:00")
    row = CustomerTier.objects.get()
    assert (row.tier.code, row.locked, row.locked_until) == (
        "gold",
        True,
        dt.datetime(2025, 6, 30, tzinfo=dt.UTC),
    )
    reg("point_add", points=5)
    assert tier_of() == "gold"
    clock.move_to(dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    reg("point_add", points=5)
    assert tier_of() == "bronze"


def test_manual_tier_up_and_down_step_one_tier(clock, structure):
    reg("point_add", points=10)
    reg("tier_up")
    assert tier_of() == "silver"
    reg("tier_up")
    assert tier_of() == "gold"
    with pytest.raises(BusinessRuleError):
        reg("tier_up")
    reg("tier_down", lock=False)
    assert tier_of() == "silver"
    reg("point_add", points=1)
    assert tier_of() == "bronze"  # not locked: the next evaluation follows the points
    with pytest.raises(ValidationError):
        reg("tier_change", tier="platinum")


def test_keep_highest_refuses_a_manual_downgrade_below_the_qualified_tier(clock, structure):
    structure.expiration_method = "keep_highest"
    structure.save()
    reg("point_add", points=150)
    reg("tier_change", tier="gold")
    with pytest.raises(BusinessRuleError):
        reg("tier_change", tier="bronze")
    reg("tier_change", tier="silver")
    assert tier_of() == "silver"


def test_tier_expiration_change_sets_the_date(clock, structure):
    reg("point_add", points=150)
    reg("tier_expiration_change", expiration_date="2025-12-31T23:59:59+00:00")
    assert CustomerTier.objects.get().expires_at == dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    with pytest.raises(BusinessRuleError):
        reg("tier_expiration_change", customer="nobody-yet", expiration_date="2025-12-31T00:00:00+00:00")


def test_the_customer_api_tiers_array(clock, structure):
    reg("point_add", points=150)
    [entry] = api_tiers(Customer.objects.get(customer_id="tia"))
    assert entry["id"] == "silver" and entry["threshold"] == 100 and entry["points"] == 150
    assert entry["structure"] == [{"id": "basic", "name": "Basic tiers"}]
    assert entry["since"] == START.isoformat() and entry["points_after_expiration"] == 150


def test_tier_handlers_need_the_tiers_module(clock, structure, program):
    program.tiers = False
    program.save()
    with pytest.raises(ValidationError):
        reg("tier_change", tier="gold")


def test_evaluation_reads_tier_rows_once_per_event(clock, structure):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reg("point_add", points=50)
    with CaptureQueriesContext(connection) as queries:
        reg("point_add", points=60)
    tier_queries = [q["sql"] for q in queries.captured_queries if "loyalty_customertier" in q["sql"]]
    assert len(tier_queries) == 2, tier_queries  # one read (snapshot), one write (the upgrade)
    assert not [q for q in queries.captured_queries if "SUM(" in q["sql"].upper()]  # lifetime: no aggregate
    assert tier_of() == "silver"


def test_tier_remove_takes_the_customer_out_until_the_points_place_them_again(clock, structure):
    reg("point_add", points=150)
    reg("tier_change", tier="gold")
    assert tier_of() == "gold"
    result = reg("tier_remove", structure="basic", tier="gold")
    assert tier_of() is None and not CustomerTier.objects.exists()
    assert Customer.objects.get(customer_id="tia").tier is None
    assert result.extra["tier"] == {"structure": "basic", "from": "gold", "to": None}
    assert (result.tiers_before, result.tiers_after) == ({"basic": "gold"}, {"basic": None})
    stored = Event.objects.get(action="tier_remove")
    assert stored.data == {"structure": "basic", "tier": "gold"}
    # The lock went with the row: the next earning places the customer by their 160 tier points.
    result = reg("point_add", points=10)
    assert tier_of() == "silver"
    assert Event.objects.filter(action="tier_up", parent=result.event).exists()


def test_tier_remove_refusals_store_nothing(clock, structure, program):
    reg("opt_in")  # a member without points: no tier yet
    with pytest.raises(BusinessRuleError) as refused:
        reg("tier_remove")
    assert refused.value.field == "data.structure"
    reg("point_add", points=150)  # silver
    with pytest.raises(BusinessRuleError) as refused:
        reg("tier_remove", tier="gold")
    assert refused.value.field == "data.tier" and tier_of() == "silver"
    with pytest.raises(ValidationError):
        reg("tier_remove", structure="nope")
    program.tiers = False
    program.save()
    with pytest.raises(ValidationError):
        reg("tier_remove")
    assert tier_of() == "silver" and not Event.objects.filter(action="tier_remove").exists()
