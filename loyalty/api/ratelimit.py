"""Per-key rate limits: a fixed one-minute window counted in the cache (Redis when REDIS_URL is set,
so every gunicorn worker shares the counters; the local-memory cache counts per process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

WINDOW_SECONDS = 60


@dataclass
class RateState:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset),
        }


def hit(key_pk: int, limit: int) -> RateState:
    """Count one request for the key in the current window."""
    now = int(time.time())
    start = now - now % WINDOW_SECONDS
    counter = f"api:rl:{key_pk}:{start}"
    count = _redis_count(counter)
    if count is None:
        try:
            count = cache.incr(counter)
        except ValueError:  # first request of the window
            count = 1 if cache.add(counter, 1, WINDOW_SECONDS + 5) else cache.incr(counter)
    return RateState(limit=limit, remaining=limit - count, reset=start + WINDOW_SECONDS - now)


# INCR, and EXPIRE when the counter has no expiry yet (its first request): one command, one round
# trip, atomic.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_local = threading.local()


def _redis_counter(backend):
    """The counting script bound to a redis-py client on the cache's own connection pool, made
    once per thread and cache backend: Django's RedisCache builds a new client (copying ~170
    response callbacks) on every call, which cost more CPU than the round trip itself."""
    owner = backend._cache
    entry = getattr(_local, "entry", None)
    if entry is None or entry[0] is not owner:
        client = owner.get_client(write=True)
        entry = (owner, client.register_script(_COUNT_SCRIPT))
        _local.entry = entry
    return entry[1]


def _redis_count(counter: str) -> int | None:
    """With the Redis cache: INCR and EXPIRE in one round trip (Django's incr costs two) through a
    server-side script (EVALSHA). Django stores integers unpickled, so the counter stays readable
    through the cache API."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    key = backend.make_and_validate_key(counter)
    return int(_redis_counter(backend)(keys=[key], args=[WINDOW_SECONDS + 5]))
