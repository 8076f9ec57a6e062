"""Incoming webhooks: each authentication method (Standard Webhooks signed by the reference
implementation, a header HMAC, a bearer token, the reference's static token), filters, the
mapping, de-duplication, and bad input — every request logged, never a 500, nothing registered
twice."""

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.models import Event
from tests.factories import anna as make_anna
from webhooks import secrets
from webhooks.models import IncomingEndpoint, IncomingRequest

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
URL = "/api/hooks/shop-points"


def endpoint(**fields):
    secret = fields.pop("secret", SECRET)
    values = {
        "name": "shop-points",
        "action": "point_add",
        "customer_expression": "body.customer.id",
        "attributes": {"points": "body.amount * 2"},
        "auth_method": "standard_webhooks",
    }
    values.update(fields)
    row = IncomingEndpoint(**values)
    row.secret_encrypted = secrets.encrypt(secret) if secret else ""
    row.save()
    return row


def signed(body: dict, msg_id="msg_1", when=None, secret=SECRET):
    text = json.dumps(body)
    when = when or timezone.now()
    signature = Webhook(secret).sign(msg_id, when, text)
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }
    return text, headers


def post(client, text, headers=None, url=URL, content_type="application/json", method="post"):
    return getattr(client, method)(url, data=text, content_type=content_type, **(headers or {}))


@pytest.fixture
def hook(modules):
    make_anna()
    return endpoint()


def points_events():
    return Event.objects.filter(action="point_add")


def test_a_request_signed_by_the_reference_implementation_registers_the_mapped_event(client, hook):
    text, headers = signed({"customer": {"id": "Anna-1"}, "amount": 21})
    response = post(client, text, headers)
    assert response.status_code == 200, response.content
    event = points_events().get()
    assert event.points == 42 and event.source == "webhook"
    assert "shop-points" in event.reason
    logged = IncomingRequest.objects.get()
    assert logged.status == "accepted" and logged.event == event and logged.customer.customer_id == "Anna-1"
    assert logged.headers["Webhook-Signature"] == "[hidden]"
    assert response.json() == {"status": "accepted", "event": event.pk, "action": "point_add"}


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "secret", "missing", "old", "future", "garbage"],
)
def test_bad_standard_webhooks_signatures_are_refused_and_logged(client, hook, tamper):
    body = {"customer": {"id": "Anna-1"}, "amount": 1}
    when = timezone.now()
    if tamper == "old":
        when -= dt.timedelta(minutes=6)  # a replayed request: outside the 5-minute tolerance
    if tamper == "future":
        when += dt.timedelta(minutes=6)
    text, headers = signed(
        body,
        when=when,
        secret="whsec_" + base64.b64encode(b"x" * 24).decode() if tamper == "secret" else SECRET,
    )
    if tamper == "body":
        text = text.replace("1}", "100}")
    if tamper == "signature":
        headers["HTTP_WEBHOOK_SIGNATURE"] = "v1," + base64.b64encode(b"y" * 32).decode()
    if tamper == "missing":
        headers.pop("HTTP_WEBHOOK_SIGNATURE")
    if tamper == "garbage":
        headers["HTTP_WEBHOOK_SIGNATURE"] = "nonsense-without-comma"
    response = post(client, text, headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 140130
    assert not points_events().exists()
    logged = IncomingRequest.objects.get()
    assert logged.status == "refused" and logged.code == 140130 and logged.http_status == 401


def test_the_same_webhook_id_registers_once(client, hook):
    text, headers = signed({"customer": {"id": "Anna-1"}, "amount": 5}, msg_id="msg_dup")
    first = post(client, text, headers)
    second = post(client, text, headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == {"status": "duplicate", "event": first.json()["event"]}
    assert points_events().count() == 1
    assert list(IncomingRequest.objects.order_by("pk").values_list("status", flat=True)) == [
        "accepted",
        "duplicate",
    ]


def test_an_idempotency_key_de_duplicates_too(client, modules):
    make_anna()
    endpoint(auth_method="bearer", secret="tok-" + "1" * 20)
    headers = {"HTTP_AUTHORIZATION": "Bearer tok-" + "1" * 20, "HTTP_IDEMPOTENCY_KEY": "k-1"}
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 5})
    assert post(client, text, headers).json()["status"] == "accepted"
    assert post(client, text, headers).json()["status"] == "duplicate"
    assert points_events().count() == 1


def test_header_hmac_with_a_prefix(client, modules):
    make_anna()
    endpoint(
        auth_method="header_hmac",
        auth_header="X-Shop-Signature",
        hmac_prefix="sha256=",
        secret="s3cret-s3cret",
    )
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 3})
    good = "sha256=" + hmac.new(b"s3cret-s3cret", text.encode(), hashlib.sha256).hexdigest()
    assert post(client, text, {"HTTP_X_SHOP_SIGNATURE": good}).status_code == 200
    assert post(client, text, {"HTTP_X_SHOP_SIGNATURE": good[:-2] + "00"}).status_code == 401
    assert post(client, text, {"HTTP_X_SHOP_SIGNATURE": good[7:]}).status_code == 401  # no prefix
    assert points_events().count() == 1


def test_header_hmac_base64_sha512(client, modules):
    make_anna()
    endpoint(
        auth_method="header_hmac",
        auth_header="X-Sig",
        hmac_algorithm="sha512",
        hmac_encoding="base64",
        secret="k" * 16,
    )
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 3})
    sig = base64.b64encode(hmac.new(b"k" * 16, text.encode(), hashlib.sha512).digest()).decode()
    assert post(client, text, {"HTTP_X_SIG": sig}).status_code == 200


def test_bearer_token(client, modules):
    make_anna()
    endpoint(auth_method="bearer", secret="the-token-123456")
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 3})
    assert post(client, text, {"HTTP_AUTHORIZATION": "Bearer wrong"}).status_code == 401
    assert post(client, text).status_code == 401
    assert post(client, text, {"HTTP_AUTHORIZATION": "Bearer the-token-123456"}).status_code == 200
    assert IncomingRequest.objects.filter(status="accepted").get().headers["Authorization"] == "[hidden]"


def test_static_token_in_a_header_and_in_the_body_is_never_logged(client, modules):
    make_anna()
    endpoint(name="h", auth_method="static_token", auth_header="X-Antavo-Token", secret="static-token-value")
    endpoint(name="b", auth_method="static_token", auth_header="body.token", secret="static-token-value")
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 3})
    assert (
        post(client, text, {"HTTP_X_ANTAVO_TOKEN": "static-token-value"}, url="/api/hooks/h").status_code
        == 200
    )
    with_token = json.dumps({"customer": {"id": "Anna-1"}, "amount": 3, "token": "static-token-value"})
    assert post(client, with_token, url="/api/hooks/b").status_code == 200
    assert post(client, text, url="/api/hooks/b").status_code == 401
    for row in IncomingRequest.objects.all():
        assert "static-token-value" not in row.body + json.dumps(row.headers)


def test_filters_on_headers_and_body_with_and_or(client, modules):
    make_anna()
    endpoint(auth_method="none", secret="", filters=['headers.x_topic == "orders/paid"', "body.amount > 10"])
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 11})
    assert post(client, text, {"HTTP_X_TOPIC": "orders/new"}).json() == {"status": "filtered"}
    assert post(client, text, {"HTTP_X_TOPIC": "orders/paid"}).json()["status"] == "accepted"
    IncomingEndpoint.objects.update(filter_mode="any")
    small = json.dumps({"customer": {"id": "Anna-1"}, "amount": 1})
    assert post(client, small, {"HTTP_X_TOPIC": "orders/paid"}).json()["status"] == "accepted"
    assert points_events().count() == 2
    assert IncomingRequest.objects.filter(status="filtered").count() == 1


def test_a_form_encoded_body_and_put(client, modules):
    make_anna()
    endpoint(
        auth_method="none",
        secret="",
        method="PUT",
        customer_expression="body.customer",
        attributes={"points": "body.amount | int"},
    )
    response = post(
        client, "customer=Anna-1&amount=4", content_type="application/x-www-form-urlencoded", method="put"
    )
    assert response.status_code == 200, response.content
    assert points_events().get().points == 4
    assert post(client, "{}", content_type="application/json").status_code == 405


@pytest.mark.parametrize(
    "body, code, field",
    [
        ('{"amount": 5}', 140132, "customer"),  # no customer in the body
        ('{"customer": {"id": "Anna-1"}, "amount": {"a": 1}}', 140132, "data.points"),  # object * 2
        ('{"customer": {"id": "Anna-1"}, "amount": "x"}', 113400, "data.points"),  # "xx": the engine refuses
        ('{"customer": {"id": "Anna-1"}}', 140132, "data.points"),  # no amount to double
        ('{"customer": {"id": "Anna-1"}, "amount": 5', 140131, None),  # truncated JSON
        ('{"customer": {"id": "Anna-1"}, "amount": 5, "amount": 6}', 140131, None),  # duplicate key
        ("[" * 100 + "]" * 100, 140131, None),  # nested too deep
        ('{"customer": {"id": "Anna\\u0000"}, "amount": 5}', 113400, None),  # NUL (the API's rule)
    ],
)
def test_bad_bodies_and_failing_mappings_are_clear_errors_and_logged(client, modules, body, code, field):
    make_anna()
    endpoint(auth_method="none", secret="")
    response = post(client, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    if field:
        assert error["field"] == field
    assert not points_events().exists()
    assert IncomingRequest.objects.get().status == "refused"


def test_an_unknown_customer_or_action_error_from_the_engine_is_logged(client, modules):
    endpoint(auth_method="none", secret="", action="suspend")
    response = post(client, json.dumps({"customer": {"id": "Nobody-9"}}))
    assert response.status_code in (400, 404)
    logged = IncomingRequest.objects.get()
    assert logged.status == "refused" and logged.code == response.json()["error"]["code"]


def test_a_body_over_the_api_limit_is_413_and_registers_nothing(client, modules, settings):
    settings.API_MAX_BODY_BYTES = 1000
    make_anna()
    endpoint(auth_method="none", secret="")
    response = post(client, json.dumps({"customer": {"id": "Anna-1"}, "amount": 1, "pad": "x" * 2000}))
    assert response.status_code == 413
    assert not points_events().exists()


def test_the_rate_limit_answers_429(client, modules):
    make_anna()
    endpoint(auth_method="none", secret="", rate_limit=2)
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 1})
    codes = [post(client, text).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert points_events().count() == 2


def test_an_inactive_or_unknown_endpoint_is_404_and_the_module_off_too(client, modules, program):
    from loyalty.models import Program

    row = endpoint(auth_method="none", secret="", active=False)
    assert post(client, "{}").status_code == 404
    assert post(client, "{}", url="/api/hooks/nope").status_code == 404
    row.active = True
    row.save()
    p = Program.objects.get(pk=program.pk)
    p.incoming_webhooks = False
    p.save()
    assert post(client, "{}").status_code == 404
