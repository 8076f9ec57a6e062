"""loyalty.fastsql stores and loads exactly what the ORM would, on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer
from loyalty import clock, fastsql

pytestmark = pytest.mark.django_db


def _columns(customer: Customer) -> dict:
    return {
        f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields if not f.primary_key
    }


def _pair(**values) -> tuple[Customer, Customer]:
    """The same attributes saved once by the ORM and once by fastsql.insert."""
    now = clock.now()
    common = {"environment": "live", "created_at": now, "updated_at": now, **values}
    by_orm = Customer.objects.create(customer_id="orm", **common)
    by_fastsql = Customer(customer_id="fast", **common)
    fastsql.insert(by_fastsql)
    assert by_fastsql.pk is not None and by_fastsql._state.adding is False
    return Customer.objects.get(pk=by_orm.pk), Customer.objects.get(pk=by_fastsql.pk)


def test_insert_stores_what_the_orm_stores_including_converted_values():
    orm, fast = _pair(
        first_name="Ada",
        phone=12345,  # an int in a text column: converted like the ORM does
        custom={"shoe_size": 42, "tags": ["a", "b"]},
        birth_date="1990-04-05",
        purchase_total=Decimal("12.50"),
        score=7,
        optin_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )
    expected, stored = _columns(orm), _columns(fast)
    expected.pop("customer_id"), stored.pop("customer_id")
    assert stored == expected
    assert fast.phone == "12345" and fast.birth_date == dt.date(1990, 4, 5)


def test_select_builds_the_instances_the_orm_builds():
    orm, _ = _pair(
        custom={"nested": {"x": [1, 2]}}, purchase_total=Decimal("3.10"), birth_date=dt.date(2000, 1, 31)
    )
    loaded = fastsql.first(Customer, "id = %s", [orm.pk])
    assert _columns(loaded) == _columns(orm)
    assert loaded.pk == orm.pk and loaded._state.adding is False and loaded._state.db == "default"
    loaded.first_name = "Changed"
    loaded.save(update_fields=["first_name"])  # a normal model instance: the ORM can save it
    assert Customer.objects.get(pk=orm.pk).first_name == "Changed"


def test_update_writes_only_the_named_columns():
    orm, _ = _pair(first_name="Ada", last_name="Lovelace")
    orm.first_name, orm.last_name = "Grace", "Hopper"
    fastsql.update(orm, ["first_name"])
    reloaded = Customer.objects.get(pk=orm.pk)
    assert (reloaded.first_name, reloaded.last_name) == ("Grace", "Lovelace")


def test_statements_on_the_reused_cursor_are_counted(django_assert_num_queries):
    orm, _ = _pair()
    with django_assert_num_queries(2):
        assert fastsql.first(Customer, "id = %s", [orm.pk]).pk == orm.pk
        assert fastsql.first(Customer, "id = %s", [-1]) is None


@pytest.mark.django_db(transaction=True)
def test_the_reused_cursor_follows_a_reconnect():
    orm, _ = _pair()
    assert fastsql.first(Customer, "id = %s", [orm.pk]).pk == orm.pk
    connection.close()
    assert fastsql.first(Customer, "id = %s", [orm.pk]).pk == orm.pk


def _state_free(instance) -> dict:
    return {k: v for k, v in instance.__dict__.items() if k != "_state"}


def test_new_builds_what_the_model_constructor_builds():
    from events.models import Event
    from loyalty.ledger.accounts import default_account

    now = clock.now()
    customer = Customer.objects.create(
        customer_id="new-1", environment="live", created_at=now, updated_at=now
    )
    account = default_account()
    values = {"environment": "live", "customer": customer, "action": "point_add", "timestamp": now}
    values |= {
        "effective_at": now,
        "points": 5,
        "account": account,
        "data": {"points": 5},
        "admin_user": None,
    }
    by_init, by_new = Event(**values), fastsql.new(Event, **values)
    assert _state_free(by_new) == _state_free(by_init)
    assert by_new.customer is customer and by_new.account is account and by_new.admin_user is None
    assert by_new._state.adding is True and by_new.pk is None
    # a callable default is made per instance: two new rows never share a mutable value
    assert fastsql.new(Customer, customer_id="a").custom is not fastsql.new(Customer, customer_id="b").custom
    assert _state_free(fastsql.new(Customer, customer_id="c", environment="live")) == _state_free(
        Customer(customer_id="c", environment="live")
    )


def test_insert_unless_conflict_inserts_once_and_leaves_the_transaction_usable():
    from django.db import transaction

    now = clock.now()
    common = {"environment": "live", "customer_id": "unique-1", "created_at": now, "updated_at": now}
    first = Customer(first_name="First", **common)
    with transaction.atomic():
        assert fastsql.insert_unless_conflict(first) is True
        assert first.pk is not None and first._state.adding is False
        again = Customer(first_name="Second", **common)
        assert fastsql.insert_unless_conflict(again) is False
        assert again.pk is None
        # No savepoint was needed: the transaction still runs statements (PostgreSQL would refuse
        # them after a failed INSERT).
        rows = Customer.objects.filter(environment="live", customer_id="unique-1")
        assert list(rows.values_list("first_name", flat=True)) == ["First"]
