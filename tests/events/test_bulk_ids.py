"""events.bulk._allocate_ids (PostgreSQL): the keys of a run's new rows come from each table's own
sequence, distinct and ascending, in one statement that looks each sequence up once (it used to
search the catalog once per key: a fifth of an import's backend CPU)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from events.bulk import _allocate_ids
from events.models import Event
from loyalty import fastsql
from tests.factories import enroll

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY key allocation: PostgreSQL"),
]


def _new(model, count: int) -> list:
    return [fastsql.new(model) for _ in range(count)]


def test_keys_come_from_each_tables_sequence_distinct_and_ascending(program):
    before = enroll("C-0")
    customers, events = _new(Customer, 3), _new(Event, 5)
    _allocate_ids([customers, [], events])
    customer_keys, event_keys = [c.pk for c in customers], [e.pk for e in events]
    assert customer_keys == sorted(set(customer_keys)) and min(customer_keys) > before.pk
    assert event_keys == sorted(set(event_keys))
    assert min(event_keys) > max(Event.objects.values_list("pk", flat=True))
    after = enroll("C-1")  # the table's own sequence moved past the allocated keys
    assert after.pk > max(customer_keys)


def test_each_sequence_is_looked_up_once_per_statement_not_once_per_key(program):
    with CaptureQueriesContext(connection) as queries:
        _allocate_ids([_new(Customer, 2), _new(Event, 2)])
    (query,) = [q["sql"] for q in queries.captured_queries if "nextval" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN VERBOSE {query}")
        plan = [line for (line,) in cursor.fetchall()]
    per_key = [line for line in plan if "nextval(" in line]
    assert len(per_key) == 2
    assert not [line for line in per_key if "pg_get_serial_sequence" in line], plan
