"""A customer import keeps the customer table's planner statistics fresh itself (autovacuum may
lag or be off): ANALYZE before a chunk once the rows applied since the last one reach a tenth of
the table's estimated size, never for a few rows added to a large table (dataio.running)."""

from __future__ import annotations

import pytest
from django.db import connection

from dataio import running
from tests import factories
from tests.dataio.conftest import upload

pytestmark = pytest.mark.django_db


def test_statistics_follow_the_table_growth_by_a_tenth():
    data_import = upload("customers", "customer_id\nS-1\n")
    if connection.vendor != "postgresql":
        statistics = running._Statistics(data_import)
        assert statistics.active is False  # SQLite has no planner statistics to keep
        return
    for number in range(30):
        factories.enroll(f"S-{number}")
    statistics = running._Statistics(data_import)
    statistics.rows = 0.0  # as for a table never analyzed
    statistics.before_chunk()
    assert statistics.rows == 0.0  # nothing applied yet: no ANALYZE
    statistics.applied(30)
    statistics.before_chunk()  # the first chunk into an "empty" table: ANALYZE, estimate read again
    assert statistics.rows == 30.0 and statistics.added == 0
    with connection.cursor() as cursor:  # the lookup's columns have statistics now
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = 'customers_customer'")
        assert {row[0] for row in cursor.fetchall()} >= set(running._Statistics.LOOKUP_COLUMNS)
    statistics.applied(2)
    statistics.before_chunk()  # 2 rows of 30: under a tenth, no ANALYZE
    assert statistics.added == 2
    statistics.applied(1)
    statistics.before_chunk()  # 3 rows of 30: a tenth
    assert statistics.added == 0


def test_an_event_import_never_analyzes_the_customer_table():
    statistics = running._Statistics(upload("events", "customer,action\nS-1,point_add\n"))
    statistics.applied(10_000)
    statistics.before_chunk()
    assert statistics.active is False and statistics.added == 10_000


def test_in_partitions_only_partition_0_analyzes_counting_every_partition_s_rows():
    data_import = upload("customers", "customer_id\nS-1\n")
    others = running._Statistics(data_import, partitions=2, index=1)
    assert others.active is False
    first = running._Statistics(data_import, partitions=2, index=0)
    assert first.active is (connection.vendor == "postgresql")
    first.applied(10)
    assert first.added == 20  # the other partition grows the table about as fast
