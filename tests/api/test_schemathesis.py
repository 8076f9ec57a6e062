"""Property-based conformance: schemathesis generates requests from /api/schema/ and sends them to
the WSGI app. No input may produce a 5xx; every response must match the documented status codes,
content type and body schema (errors included). Bounded so it runs in CI."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.api.keys import create_api_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def load_schema():
    from loyalty.wsgi import application

    # Loaded at collection: the schema view touches no database.
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


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

    api_key, _ = create_api_key(name="fuzz", environment="live", allow_unsigned=True, rate_limit=100000)
    # a customer that exists, so generated IDs sometimes hit and the 200 path is exercised
    register_event(
        environment="live", customer="fuzz-customer", action="opt_in", data={"email": "f@example.com"}
    )
    return api_key


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_conforms_to_its_schema(case, fuzz_key):
    case.query = {**(case.query or {}), "api_key": fuzz_key.key}
    case.call_and_validate(checks=CHECKS)
