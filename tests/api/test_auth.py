"""Signed requests (escherauth as the client) and the unsigned test form."""

import datetime as dt

import pytest

from loyalty.api.keys import revoke, rotate

from .conftest import ApiClient, error_of


def test_a_signed_request_is_accepted(api):
    response = api.get("/api/ping")
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "environment": "live"}


def test_the_wrong_secret_is_a_bad_signature(api):
    response = api.get("/api/ping", secret="not-the-secret")
    assert response.status_code == 401
    assert error_of(response)["code"] == 140104


def test_an_altered_body_is_a_bad_signature(api):
    response = api.post(
        "/api/events", json={"customer": "c1", "action": "login"}, alter_body='{"customer": "c2"}'
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == 140104


@pytest.mark.parametrize("seconds", [-330, 330, 3600])
def test_a_skewed_date_is_refused(api, seconds):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    response = api.get("/api/ping", when=when)
    assert response.status_code == 401
    assert error_of(response)["code"] == 140105


def test_a_date_within_the_allowed_skew_is_accepted(api):
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=200)
    assert api.get("/api/ping", when=when).status_code == 200


def test_an_unknown_key_is_named(client, db):
    from loyalty.api.models import ApiKey

    ghost = ApiKey(key="live_doesnotexist", secret="x")
    response = ApiClient(client, ghost, "x").get("/api/ping")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == 140103
    assert "Unknown API key" in error["message"]


def test_a_revoked_key_is_refused(api):
    revoke(api.api_key)
    response = api.get("/api/ping")
    assert response.status_code == 401
    assert error_of(response)["code"] == 140106


def test_rotating_the_secret_invalidates_the_old_one(api):
    old = api.secret
    new = rotate(api.api_key)
    assert api.get("/api/ping", secret=old).status_code == 401
    assert api.get("/api/ping", secret=new).status_code == 200


def test_a_missing_authorization_header_is_named(client, db):
    response = client.get("/api/ping")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == 140101
    assert "Authorization" in error["message"]


def test_a_malformed_authorization_header(client, db):
    response = client.get("/api/ping", HTTP_AUTHORIZATION="Bearer abc")
    assert response.status_code == 401
    assert error_of(response)["code"] == 140102


def test_the_date_header_must_be_signed(client, live_key):
    api_key, secret = live_key
    from escherauth import Escher

    from loyalty.api.auth import credential_scope, escher_options

    escher = Escher(api_key.key, secret, credential_scope(), escher_options())
    signed = escher.sign_request(
        {"method": "GET", "url": "/api/ping", "headers": [["host", "testserver"]], "body": ""}
    )
    headers = dict(signed["headers"])
    tampered = headers["Authorization"].replace("SignedHeaders=date;host", "SignedHeaders=host")
    response = client.get(
        "/api/ping", HTTP_AUTHORIZATION=tampered, HTTP_DATE=headers["Date"], HTTP_HOST="testserver"
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == 140109


def test_a_wrong_credential_scope_is_refused(client, live_key):
    api_key, secret = live_key
    from escherauth import Escher

    from loyalty.api.auth import escher_options

    escher = Escher(api_key.key, secret, "eu/api/other", escher_options())
    signed = escher.sign_request(
        {"method": "GET", "url": "/api/ping", "headers": [["host", "testserver"]], "body": ""},
        ["date", "host"],
    )
    headers = dict(signed["headers"])
    response = client.get(
        "/api/ping",
        HTTP_AUTHORIZATION=headers["Authorization"],
        HTTP_DATE=headers["Date"],
        HTTP_HOST="testserver",
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == 140108


def test_unsigned_access_needs_a_key_that_allows_it(client, api):
    response = client.get(f"/api/ping?api_key={api.api_key.key}")
    assert response.status_code == 401
    assert error_of(response)["code"] == 140107


def test_unsigned_access_works_for_a_key_that_allows_it(unsigned_api):
    response = unsigned_api.get("/api/ping")
    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "1500"


def test_a_key_without_the_scope_is_forbidden(client, db):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="reader", environment="live", scopes=["customers:read"])
    response = ApiClient(client, api_key, secret).post(
        "/api/events", json={"customer": "a", "action": "login"}
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == 140301


def test_use_is_recorded_on_the_key(api):
    assert api.api_key.last_used_at is None
    api.get("/api/ping")
    api.api_key.refresh_from_db()
    assert api.api_key.last_used_at is not None


def test_an_unusual_method_is_refused_cleanly(client, live_key):
    from loyalty.api.auth import sign

    api_key, secret = live_key
    headers = dict(sign("GET", "/api/ping", key=api_key.key, secret=secret, host="testserver"))
    response = client.generic(
        "PROPFIND",
        "/api/ping",
        HTTP_AUTHORIZATION=headers["Authorization"],
        HTTP_DATE=headers["Date"],
        HTTP_HOST="testserver",
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == 140102
