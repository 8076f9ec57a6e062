"""generate_load_data: fast bulk rows that are exactly what the engine would have written."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Sum
from django.utils import timezone

from customers.models import Customer
from events.models import Event
from loyalty.ledger.accounts import clear_account_cache
from loyalty.models import LedgerEntry, PointAccount, PointBalance, PointLot
from loyalty.models.ledger import ExpirationRule, LotStatus, PeriodUnit, Rounding

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL")


def generate(**options):
    out = StringIO()
    options.setdefault("workers", 1)
    call_command("generate_load_data", stdout=out, **options)
    return out.getvalue()


def configure_default_account(rule=ExpirationRule.FIXED_PERIOD, **fields):
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule=rule,
        expiration_period=fields.get("period", 12),
        expiration_unit=fields.get("unit", PeriodUnit.MONTHS),
        expiration_rounding=fields.get("rounding", Rounding.END_OF_MONTH),
        expiration_date=fields.get("date", ""),
    )
    clear_account_cache()


def assert_consistent(customer: Customer, events_per_customer: int):
    """The ledger invariant and every denormalized figure, for one generated customer."""
    lots = PointLot.objects.filter(customer=customer)
    active = (
        lots.filter(status=LotStatus.ACTIVE).aggregate(
            s=Sum(F("points") - F("used") - F("expired_points") - F("reserved"))
        )["s"]
        or 0
    )
    balance = PointBalance.objects.get(customer=customer)
    entries = LedgerEntry.objects.filter(customer=customer)
    by_kind = {row["kind"]: row["s"] for row in entries.values("kind").annotate(s=Sum("amount"))}
    earned = lots.aggregate(s=Sum("points"))["s"] or 0

    assert balance.spendable == customer.spendable == active >= 0
    assert sum(by_kind.values()) == balance.spendable
    assert balance.earned == customer.score == earned == by_kind.get("earn", 0)
    assert balance.spent == customer.spent == -by_kind.get("spend", 0)
    assert balance.expired == customer.expired == -by_kind.get("expire", 0)
    assert balance.pending == balance.reserved == 0
    for lot in lots:
        assert lot.remaining >= 0
        if lot.status == LotStatus.EXHAUSTED:
            assert lot.remaining == 0 and lot.used == lot.points - lot.expired_points
        if lot.status == LotStatus.EXPIRED:
            assert lot.remaining == 0 and lot.expired_points > 0
        if lot.status == LotStatus.ACTIVE:
            assert lot.remaining > 0
            assert lot.expires_at is None or lot.expires_at > timezone.now() - timezone.timedelta(seconds=5)
    # the running balance of the ledger ends where the balance is
    last = entries.order_by("-id").first()
    assert last is None or last.spendable_after == balance.spendable
    actions = Event.objects.filter(customer=customer).exclude(action="point_expire")
    assert actions.count() == events_per_customer
    assert actions.order_by("id").first().action == "opt_in"
    purchases = Event.objects.filter(customer=customer, action="checkout")
    assert customer.purchase_count == purchases.count()
    # the commerce app's own statistics over the generated Transaction rows agree
    from transactions.stats import refresh_customer

    figures = Customer.objects.get(pk=customer.pk)
    refresh_customer(figures)
    for name in ("purchase_total", "purchase_count", "purchase_items", "purchase_last_date"):
        assert getattr(figures, name) == getattr(customer, name), name
    assert set(purchases.values_list("transaction_id", flat=True)) == set(
        customer.transactions.values_list("transaction_id", flat=True)
    )


@pytest.mark.django_db
def test_it_generates_consistent_customers_with_exact_event_counts():
    configure_default_account()
    output = generate(customers=25, events_per_customer=15, batch=10)

    customers = Customer.objects.filter(customer_id__startswith="load-").order_by("customer_id")
    assert [c.customer_id for c in customers][:2] == ["load-000000001", "load-000000002"]
    assert customers.count() == 25
    for customer in customers:
        assert_consistent(customer, 15)
    assert Event.objects.filter(action="point_expire").exists(), "two years of 12-month points expire"
    assert "25 customers" in output


@pytest.mark.django_db
def test_it_appends_with_fresh_ids_when_run_again():
    generate(customers=5, events_per_customer=4)
    generate(customers=3, events_per_customer=4, environment="sandbox")
    generate(customers=5, events_per_customer=6, seed=7)

    live = Customer.objects.filter(environment="live").order_by("customer_id")
    assert [c.customer_id for c in live][-1] == "load-000000010"
    assert Customer.objects.filter(environment="sandbox").count() == 3
    counts = dict(
        Event.objects.exclude(action="point_expire")
        .values_list("customer__customer_id")
        .annotate(n=Count("id"))
        .filter(customer__environment="live")
    )
    assert counts["load-000000005"] == 4 and counts["load-000000006"] == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rule,fields",
    [
        (ExpirationRule.NONE, {}),
        (ExpirationRule.FIXED_PERIOD, {"period": 30, "unit": PeriodUnit.DAYS, "rounding": Rounding.NONE}),
        (ExpirationRule.DYNAMIC, {"period": 3, "unit": PeriodUnit.MONTHS}),
        (ExpirationRule.ABSOLUTE, {"date": "12-31", "rounding": Rounding.NONE}),
    ],
)
def test_every_expiration_rule_keeps_the_invariant(rule, fields):
    configure_default_account(rule, **fields)
    generate(customers=8, events_per_customer=25)

    for customer in Customer.objects.all():
        assert_consistent(customer, 25)
    expired = PointLot.objects.filter(status=LotStatus.EXPIRED).exists()
    assert expired == (rule != ExpirationRule.NONE)
    if rule == ExpirationRule.DYNAMIC:
        # every active lot of a customer expires at the same moment: its last activity + 3 months
        per_customer = (
            PointLot.objects.filter(status=LotStatus.ACTIVE)
            .values("customer")
            .annotate(n=Count("expires_at", distinct=True))
        )
        assert {row["n"] for row in per_customer} <= {1}


@pytest.mark.django_db
def test_it_refuses_nonsense_counts_and_changes_nothing():
    with pytest.raises(CommandError):
        generate(customers=0, events_per_customer=5)
    with pytest.raises(CommandError):
        generate(customers=5, events_per_customer=0)
    assert not Customer.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_copy_consistent_batches_on_postgresql():
    configure_default_account()
    output = generate(customers=40, events_per_customer=10, batch=7, workers=2)

    customers = Customer.objects.filter(customer_id__startswith="load-")
    assert customers.count() == 40
    assert len({c.pk for c in customers}) == 40
    for customer in customers:
        assert_consistent(customer, 10)
    assert "Database size" in output
    # the sequences moved past what COPY wrote, so the engine's next insert cannot collide
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM pg_sequences WHERE sequencename LIKE 'events_event_id%%'")
        assert cursor.fetchone()[0] >= Event.objects.order_by("-id").first().pk
