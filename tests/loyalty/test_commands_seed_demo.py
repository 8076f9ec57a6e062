"""seed_demo: a realistic demo program with history registered through the engine, loaded once."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import F, Sum
from django.utils import timezone

from customers.choices import CustomerStatus
from customers.models import Customer, CustomField, Label
from events.models import Event, EventDefinition
from loyalty.ledger.checks import verify_customer
from loyalty.models import LedgerEntry, PointAccount, PointBalance, PointLot, Program, TierStructure
from loyalty.models.ledger import LotStatus

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Customer,
            Event,
            PointLot,
            LedgerEntry,
            PointBalance,
            User,
            CustomField,
            Label,
            EventDefinition,
        )
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One seeded database for the module: the command is the slow part, the checks are reads."""
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            output = seed(customers=16, sandbox_customers=3)
            yield output
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_it_configures_the_program(seeded):
    program = Program.objects.get()
    assert (program.name, program.base_currency, program.time_zone) == (
        "Demo Rewards",
        "EUR",
        "Europe/Budapest",
    )
    for module in ("tiers", "expiring_points", "coupons", "rewards", "transactions", "multi_accounts"):
        assert program.module_enabled(module), module

    points = PointAccount.objects.get(code="points")
    assert points.is_default and points.name == "Points"
    assert points.burn_rates == [{"amount": 1, "points": 100, "currency": "EUR"}]
    assert (
        points.expiration_rule,
        points.expiration_period,
        points.expiration_unit,
        points.expiration_rounding,
    ) == ("fixed_period", 12, "months", "end_of_month")
    assert PointAccount.objects.get(code="status_points").name == "Status points"

    structure = TierStructure.objects.get(code="status")
    assert structure.qualification_months == 12
    assert [(t.code, t.threshold) for t in structure.tiers.order_by("threshold")] == [
        ("bronze", 0),
        ("silver", 1000),
        ("gold", 5000),
    ]
    fields = {f.name: f for f in CustomField.objects.all()}
    assert fields["favorite_color"].type == "choice" and "blue" in fields["favorite_color"].choices
    assert fields["loyalty_barcode"].external_id and fields["loyalty_barcode"].type == "string"
    assert fields["shoe_size"].type == "number"
    assert EventDefinition.objects.get(action="review_written").points == 50
    assert EventDefinition.objects.filter(action="app_download").exists()
    assert set(Label.objects.values_list("name", flat=True)) >= {"vip", "newsletter", "staff"}


def test_it_builds_demo_segments_and_lists(seeded):
    from segments.models import CustomerList, CustomerListMember, Segment, SegmentMember

    assert Program.objects.get().segments
    segments = {s.name: s for s in Segment.objects.all()}
    assert {"Gold members", "Bought in the last 30 days", "Lapsed spenders", "Birthday this month"} <= set(
        segments
    )
    assert all(s.last_built_at and not s.build_error for s in segments.values())
    dach = segments["DACH members with points"]
    assert dach.member_count == SegmentMember.objects.filter(segment=dach, left_at__isnull=True).count()
    invitees = CustomerList.objects.get(name="Store opening invitees")
    assert CustomerListMember.objects.filter(customer_list=invitees).count() == 8
    assert Event.objects.filter(action="customer_list_add").count() == 8
    assert CustomerList.objects.get(name="App beta testers").status == "inactive"


def test_it_creates_one_staff_user_per_role_with_the_printed_passwords(seeded):
    roles = {
        "admin": "administrator",
        "manager": "program manager",
        "agent": "support agent",
        "analyst": "analyst",
        "approver": "approver",
    }
    for username, role in roles.items():
        user = User.objects.get(username=username)
        assert user.check_password(username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
    assert "http://127.0.0.1:" in seeded and "/login/" in seeded
    assert "admin/admin (administrator)" in seeded


def test_customers_have_two_years_of_history_in_both_environments(seeded):
    # 16 planned customers, plus the friends who joined through demo referral codes (issue 20).
    from referrals.models import Referral

    assert Referral.objects.count() == 4
    assert Customer.objects.filter(environment="live").count() == 16 + 4
    assert Customer.objects.filter(environment="sandbox").count() == 3
    statuses = list(Customer.objects.filter(environment="live").values_list("status", flat=True))
    assert statuses.count(CustomerStatus.SUSPENDED) == 3
    assert statuses.count(CustomerStatus.BANNED) == 1
    assert statuses.count(CustomerStatus.OPTED_OUT) == 2
    assert Customer.objects.filter(status=CustomerStatus.OPTED_OUT, anonymized_at__isnull=False).count() == 2

    live = Event.objects.filter(environment="live")
    oldest = live.order_by("effective_at").first().effective_at
    assert oldest < timezone.now() - dt.timedelta(days=365), "history goes back more than a year"
    # registered in the past: the clock was moved, so registration time == effective time
    assert (
        not live.exclude(timestamp=F("effective_at"))
        .exclude(action__in=["point_expire"])
        .filter(timestamp__gt=F("effective_at") + dt.timedelta(seconds=1))
        .exists()
    )
    actions = set(live.values_list("action", flat=True))
    assert {"opt_in", "profile", "suspend", "ban", "opt_out"} <= actions
    assert actions & {"checkout", "point_add"}
    assert Event.objects.get(action="ban").admin_user.username == "admin"
    assert Customer.objects.exclude(status=CustomerStatus.OPTED_OUT).filter(first_name="").count() == 0


def test_points_expired_on_time_through_the_scheduled_task(seeded):
    expired = Event.objects.filter(action="point_expire")
    assert expired.exists()
    for event in expired:
        assert event.source == "system"
    # nothing due is left behind: the last run happened "now"
    assert not PointLot.objects.filter(status=LotStatus.ACTIVE, expires_at__lte=timezone.now()).exists()


def test_every_seeded_customer_satisfies_the_ledger_invariant(seeded):
    for customer in Customer.objects.all():
        assert verify_customer(customer) == [], customer.customer_id
        for balance in PointBalance.objects.filter(customer=customer):
            active = (
                PointLot.objects.filter(
                    customer=customer, account=balance.account, status=LotStatus.ACTIVE
                ).aggregate(s=Sum(F("points") - F("used") - F("expired_points") - F("reserved")))["s"]
                or 0
            )
            assert balance.spendable == active


def test_a_second_run_creates_nothing(seeded):
    before = table_counts()
    output = seed(customers=16)
    assert "nothing to do" in output
    assert table_counts() == before
