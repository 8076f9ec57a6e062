"""Program configuration kept in process memory: read on every event, changed rarely.

The program, point accounts, tier structures, custom fields, event definitions and earning rules
are read by every event and every API read. Fetching them from the shared Django cache cost a
pickle load each (a Redis round trip in production), about 9 per event. Instead each process keeps
the loaded objects here, for as long as the shared *generation* number is unchanged:

- `get(name, loader)` returns this process's copy, calling `loader()` once after a change.
- `changed()` is what every configuration save calls (an explicit call in the model's `save()` /
  `delete()` or the settings view, never a signal): it drops this process's copies at once and
  bumps the generation in the shared cache, now and again on commit.
- Other processes compare their generation with the shared one at most every `CHECK_SECONDS`
  (settings.CONFIG_CACHE_CHECK_SECONDS, 1 s; 0 in tests), so a change reaches every worker within a
  second. A cleared shared cache counts as a change too.

Where the shared generation lives (settings.CONFIG_GENERATION_STORE): "cache" — the Django cache,
when it is shared by all processes (Redis: REDIS_URL); "database" — one row of the table
`loyalty_configgeneration` (the database is shared in every setup), read with one indexed SELECT
per check and bumped with an UPDATE in the saving transaction; "auto" (the default) picks "cache"
when REDIS_URL is set and "database" otherwise, so a change made by one runserver, gunicorn worker
or q cluster process reaches the others without Redis too. The test settings use
"cache" (one process; every check would otherwise cost a query); tests/loyalty/test_configcache.py
runs two real processes on the database store.

Loaded objects are shared by the threads of a process: treat them as read-only.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

GENERATION_KEY = "loyalty:config-generation"


class _State:
    generation: str | None = None  # the shared generation this process's values belong to
    checked_at = float("-inf")  # time.monotonic() of the last comparison with the shared one
    epoch = 0  # bumped whenever values are dropped: a load that straddles a drop is not kept
    interval = 0.0  # settings.CONFIG_CACHE_CHECK_SECONDS, read at each check


_values: dict[str, Any] = {}
_state = _State()
_lock = threading.Lock()


def get(name: str, loader: Callable[[], Any]) -> Any:
    """This process's copy of the configuration item `name`, loading it when missing."""
    _check()
    try:
        return _values[name]
    except KeyError:
        pass
    epoch = _state.epoch
    value = loader()
    with _lock:
        if _state.epoch == epoch:  # not invalidated while loading: safe to keep
            _values[name] = value
    return value


def changed() -> None:
    """Configuration was saved: forget it here now, and in every process within a second."""
    _bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump)  # a process that reloaded before the commit reloads again


def reset() -> None:
    """Forget this process's copies (tests call it with cache.clear())."""
    with _lock:
        _values.clear()
        _state.epoch += 1
        _state.generation = None
        _state.checked_at = float("-inf")


def store() -> str:
    """ "cache" or "database": where the shared generation lives (see the module docstring)."""
    chosen = getattr(settings, "CONFIG_GENERATION_STORE", "auto")
    if chosen == "auto":
        return "cache" if getattr(settings, "REDIS_URL", "") else "database"
    return chosen


TABLE = "loyalty_configgeneration"


def _database_generation() -> str:
    """The shared generation; "db-unavailable" before the table exists (early migrations)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a failure aborts nothing
            cursor.execute(f"SELECT generation FROM {TABLE} WHERE id = 1")  # noqa: S608 (constant)
            row = cursor.fetchone()
    except DatabaseError:
        return "db-unavailable"
    return f"db-{row[0] if row else 0}"


def _database_bump() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET generation = generation + 1 WHERE id = 1")  # noqa: S608
        if cursor.rowcount == 0:
            cursor.execute(
                f"INSERT INTO {TABLE} (id, generation) SELECT 1, 1 WHERE NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {TABLE} WHERE id = 1)"
            )
    return _database_generation()


def _bump() -> None:
    if store() == "database":
        generation = _database_bump()
    else:
        generation = uuid.uuid4().hex
        cache.set(GENERATION_KEY, generation, None)
    with _lock:
        _values.clear()
        _state.epoch += 1
        _state.generation = generation
        _state.checked_at = time.monotonic()


def _check() -> None:
    now = time.monotonic()
    if now - _state.checked_at < _state.interval:
        return
    _state.interval = getattr(settings, "CONFIG_CACHE_CHECK_SECONDS", 1.0)
    if store() == "database":
        generation = _database_generation()
    else:
        generation = cache.get(GENERATION_KEY)
        if generation is None:  # never set, or the shared cache was cleared: start a new generation
            generation = uuid.uuid4().hex
            if not cache.add(GENERATION_KEY, generation, None):
                generation = cache.get(GENERATION_KEY)
    with _lock:
        if generation != _state.generation:
            _values.clear()
            _state.epoch += 1
            _state.generation = generation
        _state.checked_at = now
