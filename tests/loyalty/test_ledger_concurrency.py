"""Concurrency on PostgreSQL: real threads, real connections, real row locks.

- 64 simultaneous point_spend events on one customer who can afford exactly k of them;
- several expiration runs at once: every lot expires exactly once.
"""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import InsufficientPoints
from loyalty.ledger.checks import verify_customer
from loyalty.models import LedgerEntry, PointLot
from loyalty.models.ledger import LotStatus
from loyalty.tasks import expire_and_activate

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def run_at_once(count, work):
    """Start `count` threads together; each closes its own connection. Returns their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def thread_main(index):
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as error:  # recorded and asserted on by the caller
            results[index] = error
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_64_simultaneous_spends_succeed_exactly_as_often_as_the_points_allow(program):
    k = 23
    for _ in range(k):  # several lots, so spends also race over lot order
        register_event(environment="live", customer="racer", action="point_add", data={"points": 10})

    def spend(_index):
        return register_event(environment="live", customer="racer", action="point_spend", data={"points": 10})

    results = run_at_once(64, spend)
    succeeded = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == k
    assert len(refused) == 64 - k, [
        r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientPoints)
    ]
    customer = Customer.objects.get(customer_id="racer")
    assert (customer.spendable, customer.spent, customer.score) == (0, 10 * k, 10 * k)
    assert Event.objects.filter(action="point_spend").count() == k
    assert not LedgerEntry.objects.filter(spendable_after__lt=0).exists()
    assert PointLot.objects.filter(status=LotStatus.EXHAUSTED).count() == k
    assert verify_customer(customer) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_expiration_runs_expire_each_lot_once(program):
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for n in range(12):
            for i in range(3):
                register_event(
                    environment="live",
                    customer=f"c{n}",
                    action="point_add",
                    data={"points": 5 + i, "expiration_date": "2025-02-01T00:00:00+00:00"},
                )
            register_event(environment="live", customer=f"c{n}", action="point_add", data={"points": 100})
    with time_machine.travel(dt.datetime(2025, 2, 2, tzinfo=dt.UTC), tick=False):
        results = run_at_once(6, lambda _i: expire_and_activate())
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r["expired_lots"] for r in results) == 36
    assert PointLot.objects.filter(status=LotStatus.EXPIRED).count() == 36
    assert Event.objects.filter(action="point_expire").count() == 12
    for customer in Customer.objects.all():
        assert (customer.expired, customer.spendable) == (18, 100)
        assert verify_customer(customer) == []
