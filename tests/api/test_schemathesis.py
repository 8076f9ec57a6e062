"""Property-based conformance: schemathesis generates requests from /api/schema/ and sends them,
signed (ANTAVO-HMAC-SHA256, the full Escher verification path), to the WSGI app. No input may
produce a 5xx; every response must match the documented status codes, content type and body
schema (errors included).

Two runs, bounded for CI (about a minute on the 2-core machine):

- per operation: `FUZZ_EXAMPLES` generated cases each (default 60);
- stateful: schemathesis follows the links it infers between operations (a customer read by
  `GET /customers?_id=` feeds `{id}` of its events, points, coupons, rewards, merge, opt-in...),
  `FUZZ_STATEFUL_EXAMPLES` sequences (default 25) of up to 10 steps.

The longer documented run (docs/api.md, "Fuzzing"): `FUZZ_EXAMPLES=1000 FUZZ_STATEFUL_EXAMPLES=500
pytest tests/api/test_schemathesis.py`.
"""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from django.db import transaction
from django.utils.encoding import escape_uri_path
from escherauth.escherauth import EscherException
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.api.auth import sign
from loyalty.api.keys import create_api_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "25"))


class SigningMiddleware:
    """Signs every /api/ request as an integrator's client would, just before the app sees it:
    the body and the URI are the bytes actually sent, so the signature always matches and the
    fuzzer reaches the handlers (an unsigned key would test only the `?api_key=` path)."""

    credentials: tuple[str, str] | None = None

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if (
            self.credentials
            and environ.get("PATH_INFO", "").startswith("/api/")
            and "/schema" not in environ["PATH_INFO"]
        ):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            path = escape_uri_path(environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace"))
            query = environ.get("QUERY_STRING", "")
            uri = f"{path}?{query}" if query else path
            environ["RAW_URI"] = uri
            host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
            environ["HTTP_HOST"] = host
            key, secret = self.credentials
            try:
                signed = sign(
                    environ["REQUEST_METHOD"],
                    uri,
                    key=key,
                    secret=secret,
                    host=host,
                    body=body.decode("utf-8", "replace"),
                )
            except EscherException:  # a method Escher cannot sign (the fuzzer tries QUERY...): send unsigned
                signed = []
            for name, value in signed:
                if name.lower() in ("authorization", "date"):
                    environ[f"HTTP_{name.upper()}"] = value
        return self.app(environ, start_response)


def load_schema():
    from loyalty.wsgi import application

    # Loaded at collection: the schema view touches no database.
    return schemathesis.openapi.from_wsgi("/api/schema/", SigningMiddleware(application))


schema = load_schema()


@pytest.fixture
def keep_connections():
    """Like Django's test client: the app must not close the test transaction's connection at the
    end of each request (close_old_connections would, since autocommit is off inside it)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(db, keep_connections):
    from events.engine import register_event

    api_key, secret = create_api_key(name="fuzz", environment="live", rate_limit=10**7)
    # a customer with points that exists, so generated IDs sometimes hit and the 200 path is exercised
    register_event(
        environment="live", customer="fuzz-customer", action="opt_in", data={"email": "f@example.com"}
    )
    register_event(environment="live", customer="fuzz-customer", action="point_add", data={"points": 500})
    SigningMiddleware.credentials = (api_key.key, secret)
    yield api_key
    SigningMiddleware.credentials = None


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_conforms_to_its_schema(case, fuzz_key):
    case.call_and_validate(checks=CHECKS)


class APIWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Each scenario starts from the same database: a savepoint is rolled back after it, so one
    scenario's opt-out or merge cannot change what the next one may draw (hypothesis requires
    the data generation to be replayable, to shrink a failure)."""

    def setup(self):
        super().setup()
        self._savepoint = transaction.savepoint()

    def teardown(self):
        transaction.savepoint_rollback(self._savepoint)
        super().teardown()

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        # Our checks only: schemathesis's "ignored auth" and "negative data" checks would blame the
        # signing middleware for authenticating the requests it deliberately left unsigned.
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)


def test_stateful_sequences_never_fail(fuzz_key):
    """Follows the inferred links (customer -> its events, points, coupons, rewards, merge...)."""
    APIWorkflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )


def test_the_fuzzer_signs_its_requests(fuzz_key, client):
    """Guards the harness itself: a signed request reaches the handler (200, not 401)."""
    from loyalty.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/customers/fuzz-customer",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    statuses = []
    SigningMiddleware(application)(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
