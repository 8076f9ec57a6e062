"""Plain-SQL select, insert, update and row lock for the engine's hot path.

The ORM compiles a query for every save: about a millisecond of CPU per statement, which is most
of an event's cost. These helpers build each statement's SQL once per (model, columns) and
convert values like the ORM does (the fields' own `pre_save` / `get_db_prep_save`, skipped only
for plain str / int / bool / None values of fields that store those unchanged), so what is stored
is exactly what the ORM would store. They skip model `save()` overrides and signals on purpose:
use them only for rows whose rules the caller already enforces (the engine's event insert,
customer lookup and update, balance rows).

`cursor()` hands out one Django cursor per database connection and reuses it (the ORM opens a new
one per statement): it still converts database errors to `django.db` errors, runs
`execute_wrappers` and logs queries when Django does (DEBUG, assertNumQueries).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, models, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from psycopg.types.datetime import TimestamptzLoader


def _plain_type(field) -> type | None:
    """The type of value this field stores unchanged, or None (always convert)."""
    if isinstance(field, models.ForeignKey):
        return _plain_type(field.target_field)
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField):
        return int
    if isinstance(field, models.CharField | models.TextField):
        return str
    return None


def cursor():
    """The reusable cursor of the default connection (opened when needed)."""
    db = connections[DEFAULT_DB_ALIAS]
    raw = db.connection
    cached = db.__dict__.get("_fastsql_cursor")
    if (
        raw is not None
        and cached is not None
        and cached[0] is raw
        and cached[1] == db.queries_logged
        and not db.execute_wrappers
        and not getattr(raw, "closed", False)
    ):
        return cached[2]
    fresh = db.cursor()
    if db.vendor == "postgresql":
        _utc_timestamps(db, fresh.cursor)
    db.__dict__["_fastsql_cursor"] = (db.connection, db.queries_logged, fresh)
    return fresh


def _utc_timestamps(db, raw_cursor) -> None:
    """Read timestamptz columns with psycopg's own (compiled) loader when it returns what Django's
    returns: Django registers a Python loader that parses the value and replaces its time zone
    with the connection's; when that is UTC and so is the session's time zone, psycopg's loader
    makes the same datetime (tzinfo datetime.timezone.utc) several times faster. A lock of a
    few thousand customers reads four timestamps a row."""
    if settings.USE_TZ and db.timezone is dt.UTC and db.connection.info.parameter_status("TimeZone") == "UTC":
        raw_cursor.adapters.register_loader("timestamptz", TimestamptzLoader)


_MISSING = object()


def _values(instance, fields, plain, add: bool, db) -> list:
    values = []
    data = instance.__dict__
    for field, plain_type in zip(fields, plain, strict=True):
        if plain_type is not None:
            value = data.get(field.attname, _MISSING)  # a deferred field: the slow path loads it
            if value is None or type(value) is plain_type:
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, add), db))
    return values


@lru_cache(maxsize=64)
def _insert_sql(model: Any, vendor: str) -> tuple[str, tuple, tuple, bool]:  # (sql, fields, plain, returning)
    db = connections[DEFAULT_DB_ALIAS]
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    returning = db.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, fields, tuple(_plain_type(f) for f in fields), returning


def insert(instance: models.Model) -> None:
    """INSERT the instance (primary key assigned by the database) and set its pk."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, plain, returning = _insert_sql(type(instance), db.vendor)
    params = _values(instance, fields, plain, True, db)
    c = cursor()
    c.execute(sql, params)
    instance.pk = c.fetchone()[0] if returning else c.lastrowid
    instance._state.adding = False
    instance._state.db = db.alias


def insert_statement(instance: models.Model) -> tuple[str, list]:
    """The (sql, params) of `insert(instance)` without running it, ending in ``RETURNING <pk>``
    where the backend supports it, e.g. for `returning_together` (the caller sets the pk from
    the row returned)."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, plain, _returning = _insert_sql(type(instance), db.vendor)
    return sql, _values(instance, fields, plain, True, db)


def insert_unless_conflict(instance: models.Model) -> bool:
    """INSERT the instance unless a row already holds one of its unique values (``ON CONFLICT DO
    NOTHING``): True (its pk set) when inserted, False when the row exists, e.g. a redelivered
    task's run. Unlike catching the IntegrityError of `insert`, a conflict leaves the transaction
    usable, so no savepoint (two statements) is needed around it. On PostgreSQL a conflicting
    insert still in flight is waited for, as with a plain INSERT. Backends without
    ``INSERT ... RETURNING`` take a savepoint and `insert`."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, plain, returning = _insert_sql(type(instance), db.vendor)
    if not returning:
        try:
            with transaction.atomic():
                insert(instance)
        except IntegrityError:
            return False
        return True
    head, tail = sql.rsplit(" RETURNING ", 1)
    c = cursor()
    c.execute(f"{head} ON CONFLICT DO NOTHING RETURNING {tail}", _values(instance, fields, plain, True, db))
    row = c.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return True


@lru_cache(maxsize=256)
def _update_sql(model: Any, names: tuple[str, ...], vendor: str) -> tuple[str, tuple, tuple]:
    db = connections[DEFAULT_DB_ALIAS]
    fields: tuple[Any, ...] = tuple(model._meta.get_field(name) for name in names)
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    return sql, fields, tuple(_plain_type(f) for f in fields)


def update(instance: models.Model, names: list[str]) -> None:
    """UPDATE the named fields of an existing row."""
    statement = update_statement(instance, names)
    if statement is not None:
        cursor().execute(*statement)


def update_statement(instance: models.Model, names: list[str]) -> tuple[str, list] | None:
    """The (sql, params) of `update(instance, names)` without running it (None: nothing to
    write), e.g. to send it with other statements in one round trip (`returning_together`)."""
    if not names:
        return None
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, plain = _update_sql(type(instance), tuple(names), db.vendor)
    params = _values(instance, fields, plain, False, db)
    params.append(instance.pk)
    return sql, params


def update_many(instances: list, names: list[str]) -> None:
    """UPDATE the named fields of many existing rows of one model: one statement sent with
    executemany (psycopg pipelines it), where the ORM's bulk_update compiles a CASE per field and
    row (milliseconds of CPU per row)."""
    if not instances or not names:
        return
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, plain = _update_sql(type(instances[0]), tuple(names), db.vendor)
    rows = [[*_values(instance, fields, plain, False, db), instance.pk] for instance in instances]
    cursor().executemany(sql, rows)


@lru_cache(maxsize=64)
def columns(model: Any, vendor: str, prefix: str = "") -> tuple[str, tuple, tuple]:
    """Every concrete column (prefixed with a table alias when given), the attribute names in that
    order, and per column the backend's and the field's from-database converters (what the ORM's
    compiler applies)."""
    db = connections[DEFAULT_DB_ALIAS]
    fields = model._meta.concrete_fields
    quote = db.ops.quote_name
    listed = ", ".join(f"{prefix}{quote(f.column)}" for f in fields)
    converters = []
    for index, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        functions = db.ops.get_db_converters(col) + field.get_db_converters(db)
        if functions:
            converters.append((index, col, tuple(functions)))
    return listed, tuple(f.attname for f in fields), tuple(converters)


def build(model: Any, cols: tuple, values, db):
    """A model instance from one row's values for `cols` (what `columns()` returned)."""
    _, attnames, converters = cols
    values = list(values)
    for index, col, functions in converters:
        for function in functions:
            values[index] = function(values[index], col, db)
    return _from_db(model, db.alias, attnames, values)


def select(
    model: Any,
    where: str,
    params: list,
    *,
    limit: int | None = None,
    lock: bool = False,
    extra: dict[str, str] | None = None,
) -> list:
    """The rows matching `where`, as model instances; with lock=True locked FOR UPDATE
    (PostgreSQL; SQLite locks the whole database for a write transaction anyway). `extra` maps
    instance attribute names to SQL expressions selected with the row (no parameters)."""
    db = connections[DEFAULT_DB_ALIAS]
    cols = columns(model, db.vendor)
    names = list(extra or ())
    expressions = "".join(f", {extra[name]}" for name in names) if extra else ""
    sql = f"SELECT {cols[0]}{expressions} FROM {db.ops.quote_name(model._meta.db_table)} WHERE {where}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    if lock and db.features.has_select_for_update:
        sql += " FOR UPDATE"
    c = cursor()
    c.execute(sql, params)
    if not names:
        return [build(model, cols, row, db) for row in c.fetchall()]
    width = len(cols[1])
    instances = []
    for row in c.fetchall():
        instance = build(model, cols, row[:width], db)
        instance.__dict__.update(zip(names, row[width:], strict=True))
        instances.append(instance)
    return instances


def _from_db(model: Any, alias: str, attnames: tuple, values: list):
    """`model.from_db()` for a row of every concrete column, without `Model.__init__`'s per-field
    setattr (a fifth of an event's CPU went to building instances): the values go straight into
    the instance dict, where `__init__` would put them. Models with init signals or their own
    `from_db` take Django's path."""
    if getattr(model.from_db, "__func__", None) is not _DJANGO_FROM_DB or _has_init_signals(model):
        return model.from_db(alias, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = alias
    return instance


_DJANGO_FROM_DB = getattr(models.Model.from_db, "__func__", None)


def _has_init_signals(model) -> bool:
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def lock_all(model: Any, where: str, params: list) -> list:
    """The rows matching `where`, locked for this transaction."""
    return select(model, where, params, lock=True)


def first(model: Any, where: str, params: list, *, lock: bool = False, extra: dict[str, str] | None = None):
    """The first row matching `where` (optionally locked), or None."""
    rows = select(model, where, params, limit=1, lock=lock, extra=extra)
    return rows[0] if rows else None


def returning_together(
    statements: list[tuple[str, list]], riders: list[tuple[str, list]] = ()
) -> list[tuple | None]:
    """Run data-modifying statements that each end in `RETURNING <one non-null column>` and touch
    different rows, and return each one's first row (or None): in one round trip on PostgreSQL
    (one statement of data-modifying WITH queries: a statement costs the client about as much CPU
    as the work it sends), one by one elsewhere. `riders` are statements without RETURNING sent
    in the same round trip (after the others elsewhere), e.g. the engine's customer UPDATE.
    All of them run even when an earlier one returns no row; the caller refuses (and so rolls
    back) afterwards. Two of them must never change the same row (PostgreSQL applies only one
    such change): callers merge theirs first."""
    if not statements and not riders:
        return []
    c = cursor()
    if len(statements) + len(riders) == 1 or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        rows = []
        for sql, params in statements:
            c.execute(sql, params)
            rows.append(c.fetchone())
        for sql, params in riders:
            c.execute(sql, params)
        return rows
    params = [value for _sql, values in statements for value in values]
    for _sql, values in riders:
        params += values
    c.execute(_together_sql(tuple(sql for sql, _ in statements), tuple(sql for sql, _ in riders)), params)
    return [None if value is None else (value,) for value in c.fetchone()] if statements else []


@lru_cache(maxsize=256)
def _together_sql(statements: tuple[str, ...], riders: tuple[str, ...]) -> str:
    """The one statement of `returning_together` (built once per combination of statements)."""
    parts = [f"s{i} AS ({sql})" for i, sql in enumerate(statements)]
    parts += [f"r{i} AS ({sql})" for i, sql in enumerate(riders)]
    picks = ", ".join(f"(SELECT * FROM s{i} LIMIT 1)" for i in range(len(statements))) or "1"
    return f"WITH {', '.join(parts)} SELECT {picks}"


@lru_cache(maxsize=64)
def _new_plan(model: Any) -> tuple[dict, dict, tuple, bool]:
    """({name or attname: (attname, the related model's key attname or None)}, {attname: constant
    default}, every (attname, field) whose default is made per instance, whether Django's own
    __init__ must build instances of this model)."""
    names: dict[str, tuple[str, str | None]] = {}
    constants, made = {}, []
    for f in model._meta.concrete_fields:
        names[f.attname] = (f.attname, None)
        if f.is_relation:
            names[f.name] = (f.attname, f.target_field.attname)
        if f.has_default() and callable(f.default) or f.has_db_default():
            made.append((f.attname, f))
        else:
            constants[f.attname] = f.get_default()
    plain_init = model.__init__ is models.Model.__init__ and not _has_init_signals(model)
    return names, constants, tuple(made), not plain_init


def new(model: Any, **values):
    """`model(**values)` for concrete fields (a related object by the field's name, or its key by
    the attname), without `Model.__init__`'s per-field descriptor calls and init signals: every
    column not given gets its field's default (a callable one called per instance), a related
    object is cached as the ORM caches it. Models with their own __init__ or init signals take
    Django's path."""
    names, constants, made, django_init = _new_plan(model)
    if django_init:
        return model(**values)
    instance = model.__new__(model)
    state = instance._state = ModelState()
    data = instance.__dict__
    data.update(constants)  # the constant defaults in one step; the given values replace them
    for name, value in values.items():
        attname, target = names[name]
        if target is not None:
            state.fields_cache[name] = value
            value = None if value is None else getattr(value, target)
        data[attname] = value
    for attname, f in made:
        if attname not in data:  # not given (a made default is never among the constants)
            data[attname] = f.get_default()
    return instance
