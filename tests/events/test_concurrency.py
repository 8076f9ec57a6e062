"""Concurrent first events for one new customer ID create exactly one customer (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from customers.models import Customer
from events.models import Event
from tests.factories import enroll, register

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def run_together(count, work):
    """Run work(i) in `count` threads, each with its own connection, released by one barrier."""
    barrier = threading.Barrier(count)
    errors, results = [], []

    def target(i):
        try:
            barrier.wait(timeout=30)
            results.append(work(i))
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_concurrent_first_events_create_one_customer(program):
    # One opt_in and fifteen point_adds race for a customer nobody has created yet. A second opt_in
    # of the same customer would be refused (112101, already opted in), so only one is sent.
    results, errors = run_together(
        16,
        lambda i: register(
            "opt_in" if i == 0 else "point_add", "Brand-New-1", None if i == 0 else {"points": 1}
        ),
    )
    assert errors == []
    assert Customer.objects.filter(customer_id="Brand-New-1").count() == 1
    assert sum(result.customer_created for result in results) == 1
    customer = Customer.objects.get(customer_id="Brand-New-1")
    assert Event.objects.filter(customer=customer, action__in=("opt_in", "point_add")).count() == 16
    assert customer.status == "active" and customer.spendable == 15


def test_crossing_merges_do_not_deadlock(program, monkeypatch):
    enroll("Anna-1")
    enroll("Bob-1")
    pairs = [("Anna-1", "Bob-1"), ("Bob-1", "Anna-1")] * 4
    results, errors = run_together(
        len(pairs), lambda i: register("merge", pairs[i][0], {"source": pairs[i][1]})
    )
    # Exactly one merge wins; the others find their source (or themselves) merged away.
    assert len(results) == 1, errors
    assert all(getattr(error, "code", None) for error in errors), errors
    assert Customer.objects.filter(anonymized_at__isnull=True).count() == 1
