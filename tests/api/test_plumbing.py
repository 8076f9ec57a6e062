"""The envelope for every error, size and media-type limits, rate limits, the access log."""

import datetime as dt
import logging

import pytest
import time_machine

from events.models import Event

from .conftest import error_of

MID_MINUTE = dt.datetime.now(dt.UTC).replace(second=20, microsecond=0) + dt.timedelta(minutes=5)


def test_unknown_paths_under_api_use_the_envelope(api, client):
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert error_of(response)["code"] == 140404


def test_method_not_allowed(api):
    response = api.request("DELETE", "/api/events")
    assert response.status_code == 405
    assert error_of(response)["code"] == 140405


def test_trailing_slash_is_optional(api):
    assert api.get("/api/ping/").status_code == 200
    assert api.get("/api/ping").status_code == 200


def test_other_content_types_are_415(api):
    response = api.post("/api/events", body="<xml/>", content_type="application/xml")
    assert response.status_code == 415
    assert error_of(response)["code"] == 140415


@pytest.mark.parametrize("body", ['{"customer": ', "[1, 2]", "null", '"text"', '{"a": NaN}'])
def test_malformed_or_non_object_json_is_a_400(api, body):
    response = api.post("/api/events", body=body)
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] in (140400, 113400)


@pytest.mark.parametrize(
    "body", ["data[a]=1&data[a][b]=2", "data[a][b]=2&data[a]=1", "x=%ff", "a" + "[x]" * 20 + "=1"]
)
def test_malformed_form_bodies_are_a_400(api, body):
    response = api.post("/api/events", body=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == 140400


def test_too_large_bodies_are_413(api, settings):
    settings.API_MAX_BODY_BYTES = 100
    response = api.post("/api/events", {"customer": "x", "action": "login", "data": {"pad": "x" * 200}})
    assert response.status_code == 413
    assert error_of(response)["code"] == 140413


def test_unexpected_exceptions_are_an_enveloped_500(api, monkeypatch):
    import events.api.views as views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "register_from_request", explode)
    response = api.post("/api/events", {"customer": "x", "action": "login"})
    assert response.status_code == 500
    assert error_of(response) == {
        "type": "InternalServerErrorException",
        "code": 150000,
        "message": "Internal server error.",
        "field": None,
    }


def test_rate_limit_headers_and_429(client, db):
    from loyalty.api.keys import create_api_key

    from .conftest import ApiClient

    api_key, secret = create_api_key(name="tight", environment="live", rate_limit=3)
    api = ApiClient(client, api_key, secret)
    with time_machine.travel(MID_MINUTE, tick=False):  # all four requests in one window
        remaining = [api.get("/api/ping")["RateLimit-Remaining"] for _ in range(3)]
        response = api.get("/api/ping")
    assert remaining == ["2", "1", "0"]
    assert response.status_code == 429
    assert error_of(response)["code"] == 140429
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Limit"] == "3"
    assert 0 <= int(response["RateLimit-Reset"]) <= 60


def test_error_responses_carry_rate_limit_headers_too(api):
    response = api.get("/api/customers/ghost")
    assert response.status_code == 404
    assert response["RateLimit-Limit"] == "1500"


def test_every_request_leaves_one_access_log_line_without_secrets(api, caplog):
    logger = logging.getLogger("loyalty.api.access")
    logger.addHandler(caplog.handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        api.post(
            "/api/events", {"customer": "logged", "action": "opt_in", "data": {"email": "p@example.com"}}
        )
        api.get("/api/customers/ghost?email=private@example.com")
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(old_level)
    lines = [r.getMessage() for r in caplog.records if r.name == "loyalty.api.access"]
    assert len(lines) == 2
    assert (
        f"key={api.api_key.key}" in lines[0] and "environment=live" in lines[0] and "status=200" in lines[0]
    )
    assert "method=POST" in lines[0] and "path=/api/events" in lines[0] and "duration_ms=" in lines[0]
    assert "status=404" in lines[1]
    text = "\n".join(lines)
    assert api.secret not in text and "private@example.com" not in text and "p@example.com" not in text


def test_the_schema_and_the_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/events:",
        "/api/events/bulk:",
        "/api/customers/{id}:",
        "/api/customers/{id}/events:",
        "/api/customers/-/events:",
        "/api/customers/{id}/points:",
        "/api/customers:",
        "/api/customers/{id}/merge:",
        "/api/customers/{id}/opt-in:",
        "/api/entities:",
    ):
        assert f"\n  {path}\n" in text, path
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_no_event_is_stored_by_a_refused_request(api):
    api.post("/api/events", body="<xml/>", content_type="application/xml")
    api.post("/api/events", {"customer": "x", "action": "login"}, secret="wrong")
    assert not Event.objects.exists()


def test_an_unknown_post_gets_the_json_404_not_a_csrf_page(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/api/customers/a/b/c/d", data="{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == 140404


@pytest.mark.parametrize(
    "payload",
    [
        {"customer": "edge", "action": "profile", "data": {"first_name": "x" * 300}},
        {"customer": "édge", "action": "point_add", "data": {"points": 1}},
        {"customer": "edge", "action": "point_add", "data": {"points": 10**400}},
        {"customer": "edge", "action": "point_add", "data": {"points": "1e400"}},
        {"customer": "edge", "action": "point_add", "account": "x" * 500, "data": {"points": 5}},
        {"customer": "edge", "action": "checkout", "data": {"transaction_id": "t" * 300, "total": "1e400"}},
        {"customer": "edge", "action": "profile", "data": {"birth_date": "1970-13-45"}},
        {"customer": "x" * 200, "action": "opt_in", "data": {}},
        {"customer": ["a"], "action": "opt_in"},
        {"customer": "edge", "action": "profile", "data": ["not", "an", "object"]},
    ],
)
def test_hostile_input_is_a_clear_4xx_never_a_500(api, payload):
    from events.engine import register_event

    register_event(environment="live", customer="edge", action="opt_in", data={"email": "e@example.com"})
    response = api.post("/api/events", payload)
    assert 400 <= response.status_code < 500, response.content
    error_of(response)


def test_rate_limit_counts_in_redis_when_configured(redis_cache, client, db):
    """With REDIS_URL the counter is one INCR+EXPIRE round trip, shared by every worker."""
    from loyalty.api.keys import create_api_key

    from .conftest import ApiClient

    api_key, secret = create_api_key(name="redis", environment="live", rate_limit=2)
    api = ApiClient(client, api_key, secret)
    with time_machine.travel(MID_MINUTE, tick=False):
        assert [api.get("/api/ping").status_code for _ in range(3)] == [200, 200, 429]
    counters = list(redis_cache.scan_iter(match=f"*api:rl:{api_key.pk}:*"))
    assert counters
    ttl = max(redis_cache.ttl(name) for name in counters)
    assert 0 < ttl <= 65


def test_every_operation_documents_its_errors_with_the_envelope(client, db):
    import json

    schema = json.loads(client.get("/api/schema/?format=json", HTTP_ACCEPT="application/json").content)
    envelope = "#/components/schemas/Error"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation["responses"]
            for status in ("400", "401", "404", "429"):
                assert status in responses, (method, path, status)
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == envelope, (method, path, status, ref)
            if method == "post":
                assert {"413", "415", "422"} <= set(responses), (method, path)
