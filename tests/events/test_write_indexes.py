"""Every index on a table an event writes is maintained on every event: none may repeat another.

A point event inserts an event, a lot and a ledger entry, and rewrites the customer row (score and
spendable are indexed, so that update is never HOT and touches every customer index). An index
whose columns are a leading prefix of another index's columns only costs writes; a foreign key on
a column that is mostly NULL gets a partial index instead (issue 5 performance work).
"""

from __future__ import annotations

import pytest
from django.db import connection

from customers.models import Customer
from events.models import Event
from loyalty.models import LedgerEntry, PointBalance, PointLot

HOT_MODELS = (Event, Customer, PointLot, LedgerEntry, PointBalance)


def plain_indexes(table: str) -> dict[str, tuple[str, ...]]:
    """{name: columns} of the table's non-unique indexes, from the database itself."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: tuple(info["columns"])
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and all(info["columns"])
    }


def covering_keys(table: str) -> list[tuple[str, ...]]:
    """Column lists of every index and unique constraint, which can serve a prefix lookup."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [tuple(info["columns"]) for info in constraints.values() if (info["index"] or info["unique"])]


@pytest.mark.django_db
@pytest.mark.parametrize("model", HOT_MODELS, ids=lambda m: m._meta.db_table)
def test_no_index_repeats_a_prefix_of_another(model):
    table = model._meta.db_table
    partial = partial_indexes(table)
    keys = covering_keys(table)
    redundant = [
        (name, columns)
        for name, columns in plain_indexes(table).items()
        if name not in partial
        and columns  # an expression index (the trigram search) has no column prefix
        and any(len(other) > len(columns) and other[: len(columns)] == columns for other in keys)
    ]
    assert redundant == []


def partial_indexes(table: str) -> set[str]:
    if connection.vendor == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%% WHERE %%'"
    else:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql LIKE '%% WHERE %%'"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "column"),
    [
        (Event, "admin_user_id"),
        (Event, "parent_id"),
        (Customer, "merged_into_id"),
        (Customer, "referrer_id"),
    ],
)
def test_mostly_null_foreign_keys_have_only_a_partial_index(model, column):
    table = model._meta.db_table
    on_column = {name for name, columns in plain_indexes(table).items() if columns == (column,)}
    assert on_column, f"{column} lost its index"
    assert on_column <= partial_indexes(table)


@pytest.mark.django_db
def test_referral_count_and_event_history_still_use_an_index():
    """The lookups the dropped single-column indexes served are still index scans (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = []
        for sql in (
            f"SELECT COUNT(*) FROM {Customer._meta.db_table} WHERE referrer_id = 1",
            f"SELECT id FROM {Event._meta.db_table} WHERE customer_id = 1",
            f"SELECT id FROM {PointLot._meta.db_table} WHERE customer_id = 1",
            f"SELECT id FROM {LedgerEntry._meta.db_table} WHERE customer_id = 1",
            f"SELECT id FROM {PointBalance._meta.db_table} WHERE customer_id = 1",
        ):
            cursor.execute("EXPLAIN " + sql)
            plans.append(" ".join(row[0] for row in cursor.fetchall()))
    assert all("Index" in plan for plan in plans), plans
