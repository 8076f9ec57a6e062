"""The ledger's hot path in plain SQL: the few statements every point_add / point_spend runs.

Why: building these statements through the ORM cost more CPU than the database work itself
(bench/bench_engine.py). The statements are the same ones the ORM would send, portable between
PostgreSQL and SQLite (RETURNING, NULLS LAST), with datetimes adapted by the backend's own ops.
Only loyalty.ledger calls these, with the customer's row lock held.
"""

from __future__ import annotations

from django.db import connection

from loyalty.fastsql import cursor as _cursor
from loyalty.models import LedgerEntry, PointBalance, PointLot

LOT = PointLot._meta.db_table
BALANCE = PointBalance._meta.db_table
ENTRY = LedgerEntry._meta.db_table
LOT_COLUMNS = "id, points, used, expired_points, reserved, status"
# Active lots with points left / lots holding reserved points
SPENDABLE_SQL = "status = 'active' AND points > used + expired_points + reserved"
RESERVED_SQL = "reserved > 0"


def _dt(value):
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def insert_lot(lot: PointLot) -> PointLot:
    cursor = _cursor()
    cursor.execute(
        f"INSERT INTO {LOT} (customer_id, account_id, event_id, points, used, expired_points, reserved, status,"
        " activates_at, expires_at, created_at) VALUES (%s, %s, %s, %s, 0, 0, 0, %s, %s, %s, %s) RETURNING id",
        [
            lot.customer_id,
            lot.account_id,
            lot.event_id,
            lot.points,
            lot.status,
            _dt(lot.activates_at),
            _dt(lot.expires_at),
            _dt(lot.created_at),
        ],
    )
    lot.pk = cursor.fetchone()[0]
    lot._state.adding, lot._state.db = False, connection.alias
    return lot


def select_lots(
    customer_id: int, account_id: int, where: str, exclude: list[int], limit: int
) -> list[PointLot]:
    """Lots in spend order: first-expiring-first, never-expiring last, then the oldest."""
    params: list = [customer_id, account_id]
    skip = ""
    if exclude:
        skip = f" AND id NOT IN ({', '.join(['%s'] * len(exclude))})"
        params.extend(exclude)
    cursor = _cursor()
    cursor.execute(
        f"SELECT {LOT_COLUMNS} FROM {LOT} WHERE customer_id = %s AND account_id = %s AND {where}{skip}"
        f" ORDER BY expires_at ASC NULLS LAST, created_at ASC, id ASC LIMIT {int(limit)}",
        params,
    )
    rows = cursor.fetchall()
    lots = []
    for pk, points, used, expired_points, reserved, status in rows:
        lot = PointLot(
            id=pk,
            customer_id=customer_id,
            account_id=account_id,
            points=points,
            used=used,
            expired_points=expired_points,
            reserved=reserved,
            status=status,
        )
        lot._state.adding, lot._state.db = False, connection.alias
        lots.append(lot)
    return lots


def update_lot_counts(lot: PointLot) -> None:
    cursor = _cursor()
    cursor.execute(
        f"UPDATE {LOT} SET used = %s, expired_points = %s, reserved = %s, status = %s WHERE id = %s",
        [lot.used, lot.expired_points, lot.reserved, lot.status, lot.pk],
    )


BALANCE_SET = (
    "earned = %s, spent = %s, spendable = %s, pending = %s, reserved = %s, expired = %s, updated_at = %s"
)


def _balance_params(row: PointBalance, now) -> list:
    row.updated_at = now
    return [row.earned, row.spent, row.spendable, row.pending, row.reserved, row.expired, _dt(now), row.pk]


def _entries_values(entries: list[LedgerEntry]) -> tuple[str, list]:
    values, params = [], []
    for entry in entries:
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            entry.event_id,
            entry.customer_id,
            entry.account_id,
            entry.lot_id,
            entry.kind,
            entry.amount,
            entry.spendable_after,
            _dt(entry.created_at),
        ]
    return (
        f"INSERT INTO {ENTRY} (event_id, customer_id, account_id, lot_id, kind, amount, spendable_after,"
        f" created_at) VALUES {', '.join(values)}",
        params,
    )


def write_changes(rows: list[PointBalance], entries: list[LedgerEntry], now) -> None:
    """Write changed balance rows and new ledger entries.

    On PostgreSQL this is one statement (one round trip): all but the last ride along as
    data-modifying CTEs, which PostgreSQL always runs to completion, referenced or not (the rows
    are distinct, so no row is written twice). Other databases (SQLite: in-process, no round trips
    to save) get one statement each.
    """
    statements = [
        (f"UPDATE {BALANCE} SET {BALANCE_SET} WHERE id = %s", _balance_params(row, now)) for row in rows
    ]
    if entries:
        statements.append(_entries_values(entries))
    cursor = _cursor()
    if connection.vendor != "postgresql" or len(statements) < 2:
        for statement, params in statements:
            cursor.execute(statement, params)
        return
    *riders, (last, last_params) = statements
    ctes = ", ".join(f"w{i} AS ({statement})" for i, (statement, _) in enumerate(riders))
    cursor.execute(f"WITH {ctes} {last}", [value for _, params in riders for value in params] + last_params)
