"""Issue 14 §3, §5, §8: every unhandled error is logged once with a request ID that the answer also
carries; under /api/ every error, however late, is the JSON envelope; a dead database connection is
503 + Retry-After; access logs carry no personal query values or keys."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError

from loyalty.observability import RedactingGunicornLogger, redact_query, redact_url

from .conftest import error_of

pytestmark = pytest.mark.django_db


def boom(*args, **kwargs):
    raise ZeroDivisionError("boom")


def records_for(caplog, request_id: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if getattr(r, "request_id", None) == request_id and r.levelno >= logging.ERROR
    ]


def test_an_api_error_is_the_envelope_with_the_request_id_and_logged_once(api, monkeypatch, caplog):
    from events.api import views

    monkeypatch.setattr(views, "register_from_request", boom)
    response = api.post("/api/events", json={"customer": "x", "action": "point_add", "data": {"points": 1}})
    assert response.status_code == 500
    error = error_of(response)  # checks request_id == X-Request-ID
    assert error["code"] == 150000
    logged = records_for(caplog, response["X-Request-ID"])
    assert len(logged) == 1 and logged[0].exc_info is not None


def test_a_callers_request_id_is_kept(api):
    response = api.get("/api/customers/nobody", headers={"X-Request-ID": "shop-req-42"})
    assert response["X-Request-ID"] == "shop-req-42"
    assert response.json()["error"]["request_id"] == "shop-req-42"


def test_a_late_error_outside_drf_under_api_is_still_the_envelope(client, monkeypatch, caplog):
    from loyalty.api import views

    monkeypatch.setattr(views.errors, "json_error", boom)  # the catch-all 404 view itself fails
    client.raise_request_exception = False
    response = client.get("/api/no-such-endpoint")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == 150000 and body["error"]["request_id"] == response["X-Request-ID"]
    assert len(records_for(caplog, response["X-Request-ID"])) == 1


def test_a_console_error_is_logged_once_with_the_request_id(admin_client, monkeypatch, caplog):
    from customers.views import lists

    monkeypatch.setattr(lists.CustomerListView, "get_queryset", boom)
    admin_client.raise_request_exception = False
    response = admin_client.get("/customers/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert request_id in response.content.decode()
    logged = records_for(caplog, request_id)
    assert len(logged) == 1 and logged[0].name == "django.request" and logged[0].exc_info


def test_a_dead_database_connection_is_503_with_retry_after(api, monkeypatch):
    from events.api import views

    def dead(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(views, "register_from_request", dead)
    response = api.post("/api/events", json={"customer": "x", "action": "point_add", "data": {"points": 1}})
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert error_of(response)["code"] == 150503


def test_a_dead_database_in_middleware_is_503_too(client, monkeypatch):
    from django.contrib.sessions.backends import db

    def dead(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(db.SessionStore, "load", dead)
    client.raise_request_exception = False
    client.cookies["sessionid"] = "a" * 32
    response = client.get("/customers/")
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_connection_health_checks_are_on(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_query_values_are_redacted():
    assert redact_query("email=a%40b.example&page=2&api_key=k123") == (
        "email=[redacted]&page=2&api_key=[redacted]"
    )
    assert redact_query("first_name=Zelda&shoe_size=44&per_page=50") == (
        "first_name=[redacted]&shoe_size=[redacted]&per_page=50"
    )
    assert redact_url("/api/customers?email=z@x.org") == "/api/customers?email=[redacted]"
    assert redact_url("/api/ping") == "/api/ping"


def test_gunicorn_access_log_is_redacted():
    from gunicorn.config import Config

    class Request:
        method, path, uri, query, version = "GET", "/api/customers", "/api/customers", "", (1, 1)
        headers: list = []

    class Response:
        status, response_length, sent, headers = "200 OK", 10, 10, []

    import datetime as dt

    environ = {
        "QUERY_STRING": "email=zelda%40example.org&api_key=secret1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/api/customers?email=zelda%40example.org&api_key=secret1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    atoms = RedactingGunicornLogger(Config()).atoms(
        Response(), Request(), environ, dt.timedelta(seconds=0.01)
    )
    line = f"{atoms['r']} {atoms['q']}"
    assert "zelda" not in line and "secret1" not in line
    assert "email=[redacted]" in atoms["q"]


def test_async_unsafe_is_only_for_the_browser_tests():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    lines = [line for line in makefile.splitlines() if "DJANGO_ALLOW_ASYNC_UNSAFE" in line]
    assert lines and all("-m browser" in line for line in lines), lines
    assert "gunicorn.conf.py" in makefile
