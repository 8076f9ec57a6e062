"""Fixtures for API tests: keys per environment and a client that signs like an integrator
(escherauth, ANTAVO-HMAC-SHA256), or sends the unsigned `?api_key=` form."""

from __future__ import annotations

import json as jsonlib

import pytest

from loyalty.api.auth import sign
from loyalty.api.keys import create_api_key


class ApiClient:
    def __init__(self, client, api_key, secret, *, unsigned=False):
        self.client = client
        self.api_key = api_key
        self.secret = secret
        self.unsigned = unsigned

    def request(
        self,
        method,
        path,
        *,
        json=None,
        body=None,
        content_type="application/json",
        headers=None,
        when=None,
        secret=None,
        host="testserver",
        alter_body=None,
    ):
        if json is not None:
            body = jsonlib.dumps(json)
        body = body or ""
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()}
        if self.unsigned:
            path = path + ("&" if "?" in path else "?") + f"api_key={self.api_key.key}"
        else:
            signed = sign(
                method,
                path,
                key=self.api_key.key,
                secret=secret or self.secret,
                host=host,
                body=body,
                when=when,
            )
            for name, value in signed:
                if name.lower() in ("authorization", "date"):
                    extra[f"HTTP_{name.upper()}"] = value
            extra["HTTP_HOST"] = host
        if alter_body is not None:
            body = alter_body
        if method in ("GET", "HEAD") and not body:
            return self.client.generic(method, path, **extra)
        return self.client.generic(method, path, data=body, content_type=content_type, **extra)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def live_key(db):
    return create_api_key(name="shop", environment="live")


@pytest.fixture
def api(client, live_key):
    api_key, secret = live_key
    return ApiClient(client, api_key, secret)


@pytest.fixture
def sandbox_api(client, db):
    api_key, secret = create_api_key(name="sandbox shop", environment="sandbox")
    return ApiClient(client, api_key, secret)


@pytest.fixture
def unsigned_api(client, db):
    api_key, secret = create_api_key(name="curl", environment="live", allow_unsigned=True)
    return ApiClient(client, api_key, secret, unsigned=True)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"type", "code", "message", "field", "request_id"}, body
    assert body["error"]["request_id"] == response["X-Request-ID"], body
    return {k: v for k, v in body["error"].items() if k != "request_id"}


@pytest.fixture(autouse=True)
def _forget_cached_keys():
    from loyalty.api import auth

    auth._key_cache.clear()
    yield
    auth._key_cache.clear()


REDIS_TEST_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def redis_cache(settings):
    """The Redis cache backend as in production (skipped without a Redis server); yields a
    redis-py client on the same database, for looking at what the API stored."""
    import redis as redis_lib
    from django.core.cache import caches

    try:
        redis_lib.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping()
    except redis_lib.exceptions.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_TEST_URL}
    }
    caches["default"].clear()
    yield redis_lib.Redis.from_url(REDIS_TEST_URL)
    caches["default"].clear()
