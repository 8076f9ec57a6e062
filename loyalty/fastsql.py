"""Plain-SQL insert, update and row lock for the engine's hot path.

The ORM compiles a query for every save: about a millisecond of CPU per statement, which is most
of an event's cost. These helpers build each statement's SQL once per (model, columns) and
convert values with the fields' own `get_db_prep_save`, so what is stored is exactly what the
ORM would store. They skip model `save()` overrides and signals on purpose: use them only for
rows whose rules the caller already enforces (the engine's event insert and customer update).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection, models


@lru_cache(maxsize=64)
def _insert_sql(model: Any, vendor: str) -> tuple[str, tuple]:  # (sql, fields)
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, fields


def insert(instance: models.Model) -> None:
    """INSERT the instance (primary key assigned by the database) and set its pk."""
    sql, fields = _insert_sql(type(instance), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk = cursor.fetchone()[0] if connection.features.can_return_columns_from_insert else cursor.lastrowid
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


@lru_cache(maxsize=256)
def _update_sql(model: Any, names: tuple[str, ...], vendor: str) -> tuple[str, tuple]:
    fields: tuple[Any, ...] = tuple(model._meta.get_field(name) for name in names)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    return sql, fields


def update(instance: models.Model, names: list[str]) -> None:
    """UPDATE the named fields of an existing row."""
    if not names:
        return
    sql, fields = _update_sql(type(instance), tuple(names), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in fields]
    params.append(instance.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def select(model: Any, where: str, params: list, *, limit: int | None = None, lock: bool = False) -> list:
    """The rows matching `where`, as model instances; with lock=True locked FOR UPDATE
    (PostgreSQL; SQLite locks the whole database for a write transaction anyway)."""
    table = connection.ops.quote_name(model._meta.db_table)
    suffix = f" LIMIT {int(limit)}" if limit else ""
    if lock and connection.features.has_select_for_update:
        suffix += " FOR UPDATE"
    return list(model.objects.raw(f"SELECT * FROM {table} WHERE {where}{suffix}", params))


def lock_all(model: Any, where: str, params: list) -> list:
    """The rows matching `where`, locked for this transaction."""
    return select(model, where, params, lock=True)


def first(model: Any, where: str, params: list, *, lock: bool = False):
    """The first row matching `where` (optionally locked), or None."""
    rows = select(model, where, params, limit=1, lock=lock)
    return rows[0] if rows else None
