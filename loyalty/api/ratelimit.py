"""Per-key rate limits: a fixed one-minute window counted in the cache (Redis when REDIS_URL is set,
so every gunicorn worker shares the counters; the local-memory cache counts per process)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

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


def _redis_count(counter: str) -> int | None:
    """With the Redis cache: INCR and EXPIRE in one round trip (Django's incr costs two).
    Django stores integers unpickled, so the counter stays readable through the cache API."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    key = backend.make_and_validate_key(counter)
    pipe = backend._cache.get_client(key, write=True).pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS + 5, nx=True)
    count, _ = pipe.execute()
    return int(count)
