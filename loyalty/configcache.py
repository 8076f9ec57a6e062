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
from django.db import transaction

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


def _bump() -> None:
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
