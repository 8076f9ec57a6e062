"""Bulk loading for `generate_load_data`: primary keys from the tables' sequences, and COPY.

Rows are tuples of ready-made text values (or the NULL marker) in the fixed column order of
COLUMNS, so one generator (`load_rows`) feeds PostgreSQL COPY (tab-separated text) and SQLite
executemany. Values come from fixed vocabularies without tabs, newlines or backslashes, so no COPY
escaping is needed. Columns that later migrations add are filled with the model field's default.
"""

from __future__ import annotations

import functools
import itertools
import json

from customers.models import Customer
from events.models import Event
from loyalty.models import LedgerEntry, PointBalance, PointLot
from transactions.models import Transaction, TransactionItem

MODELS = [Customer, Event, PointLot, LedgerEntry, PointBalance, Transaction, TransactionItem]
TABLES = [model._meta.db_table for model in MODELS]

# The columns we fill, per model (attnames). Anything else gets its field default.
# fmt: off
COLUMNS = {
    Customer: [
        "id", "environment", "customer_id", "status", "first_name", "last_name", "email", "birth_date",
        "gender", "language", "currency", "mobile_phone", "country", "city", "zip", "address", "custom",
        "score", "spent", "spendable", "pending", "reserved", "expired", "purchase_total",
        "purchase_count", "purchase_items", "purchase_last_date", "optin_at", "last_login_at",
        "last_activity_at", "created_at", "updated_at",
    ],
    Event: [
        "id", "environment", "customer_id", "action", "label", "timestamp", "effective_at", "points",
        "account_id", "expires_at", "transaction_id", "data", "source", "reason",
    ],
    PointLot: [
        "id", "customer_id", "account_id", "event_id", "points", "used", "expired_points", "status",
        "expires_at", "created_at",
    ],
    LedgerEntry: [
        "id", "event_id", "customer_id", "account_id", "lot_id", "kind", "amount", "spendable_after",
        "created_at",
    ],
    PointBalance: [
        "id", "customer_id", "account_id", "earned", "spent", "spendable", "pending", "reserved",
        "expired", "updated_at",
    ],
    Transaction: [
        "id", "environment", "transaction_id", "customer_id", "account_id", "status", "total", "currency",
        "points_earned", "points_credited", "first_purchase", "checkout_at", "accepted_at", "created_at",
        "updated_at", "checkout_event_id",
    ],
    TransactionItem: [
        "id", "transaction_id", "line", "product_id", "product_name", "product_category", "quantity",
        "price", "subtotal",
    ],
}
# fmt: on


class IdAllocator:
    """Primary keys from each table's own sequence (PostgreSQL) or past MAX(id) (SQLite, one writer).

    On PostgreSQL a block is `nextval` over generate_series: the values are ours whatever other
    inserters (or our other workers) do at the same time, so we keep the list, gaps and all.
    `counter(table)()` returns the next ID; it is called once per row, so it is kept cheap.
    """

    BLOCK = 65536

    def __init__(self, conn):
        self.conn = conn
        self.postgres = conn.vendor == "postgresql"

    def counter(self, table: str):
        if self.postgres:
            return functools.partial(next, itertools.chain.from_iterable(self._blocks(table)))
        with self.conn.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            return functools.partial(next, itertools.count(cursor.fetchone()[0] + 1))

    def _blocks(self, table: str):
        while True:
            with self.conn.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [f'"{table}"', self.BLOCK],
                )
                yield [row[0] for row in cursor.fetchall()]


class Rows:
    def __init__(self):
        self.tables: dict[type, list[tuple]] = {model: [] for model in MODELS}
        self.expire_events = 0

    def counts(self) -> dict:
        return {
            "customers": len(self.tables[Customer]),
            "events": len(self.tables[Event]),
            "lots": len(self.tables[PointLot]),
            "entries": len(self.tables[LedgerEntry]),
            "transactions": len(self.tables[Transaction]),
        }


def _extra_columns(model, conn) -> tuple[list[str], list]:
    """Columns a later migration added that we do not generate: (columns, default values)."""
    ours = set(COLUMNS[model])
    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.attname in ours:
            continue
        default = f.get_default()
        if default is None:
            value = None
        elif isinstance(default, bool):
            value = ("t" if default else "f") if conn.vendor == "postgresql" else int(default)
        elif isinstance(default, dict | list):
            value = json.dumps(default)
        else:
            value = str(default)
        columns.append(f.column)
        values.append(value)
    return columns, values


def _columns(model) -> list[str]:
    fields = {f.attname: f.column for f in model._meta.concrete_fields}
    missing = [name for name in COLUMNS[model] if name not in fields]
    if missing:
        raise RuntimeError(f"{model.__name__} no longer has {missing}: update load_rows.COLUMNS.")
    return [fields[name] for name in COLUMNS[model]]


def write(conn, rows: Rows) -> None:
    """Load the rows in the caller's transaction: COPY on PostgreSQL, executemany elsewhere."""
    for model in MODELS:
        data = rows.tables[model]
        if not data:
            continue
        extra_cols, extra_vals = _extra_columns(model, conn)
        columns = _columns(model) + extra_cols
        table = model._meta.db_table
        column_sql = ", ".join(f'"{c}"' for c in columns)
        if conn.vendor == "postgresql":
            suffix = "".join("\t" + ("\\N" if v is None else v) for v in extra_vals) + "\n"
            with conn.cursor() as cursor, cursor.copy(f'COPY "{table}" ({column_sql}) FROM STDIN') as copy:
                for start in range(0, len(data), 20000):
                    copy.write("".join("\t".join(row) + suffix for row in data[start : start + 20000]))
        else:
            extra = tuple(extra_vals)
            placeholders = ", ".join(["%s"] * len(columns))
            with conn.cursor() as cursor:
                cursor.executemany(
                    f'INSERT INTO "{table}" ({column_sql}) VALUES ({placeholders})',
                    [row + extra for row in data],
                )
