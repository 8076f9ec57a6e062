"""Trusted sites' AWS (Signature Version 4, via escherauth) and OAuth 2.0 client-credentials
authentication. SigV4 is checked against AWS's published test-suite vectors (aws-sig-v4-test-suite:
get-vanilla, get-vanilla-query-order-key-case, post-vanilla; key AKIDEXAMPLE, 2015-08-30 12:36:00Z,
us-east-1, service "service")."""

import base64
import datetime as dt
import json
from urllib.parse import parse_qs

import pytest
import time_machine
from django.utils import timezone
from escherauth import Escher

from webhooks import delivery, secrets, sending
from webhooks.choices import DeliveryStatus
from webhooks.forms import TrustedSiteForm

from .conftest import make_site
from .receiver import Receiver

VECTOR = {
    "region": "us-east-1",
    "service": "service",
    "key_id": "AKIDEXAMPLE",
    "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "now": dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC),
}
SCOPE = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "


@pytest.mark.parametrize(
    "method, url, signature",
    [
        (
            "GET",
            "https://example.amazonaws.com/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            "POST",
            "https://example.amazonaws.com/",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
    ],
)
def test_sigv4_matches_the_aws_test_suite(method, url, signature):
    headers = sending.sign_aws(method=method, url=url, body="", **VECTOR)
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Host"] == "example.amazonaws.com"
    assert headers["Authorization"] == SCOPE + "SignedHeaders=host;x-amz-date, Signature=" + signature


def test_a_changed_secret_or_region_changes_the_signature():
    base = sending.sign_aws(method="GET", url="https://example.amazonaws.com/", body="", **VECTOR)
    other = sending.sign_aws(
        method="GET", url="https://example.amazonaws.com/", body="", **{**VECTOR, "region": "eu-west-1"}
    )
    assert base["Authorization"] != other["Authorization"] and "/eu-west-1/" in other["Authorization"]


def test_a_vendor_key_and_algorithm_prefix_sign_the_escher_way_and_escher_verifies_them():
    now = timezone.now()
    headers = sending.sign_aws(
        method="POST",
        url="https://api.example.com/v2/hook?x=1",
        body='{"a": 1}',
        region="eu",
        service="suite",
        key_id="loyalty_key",
        secret="s3cr3t",
        now=now,
        algorithm_prefix="EMS",
        vendor_key="EMS",
        headers={"Content-Type": "application/json"},
    )
    assert headers["X-EMS-Auth"].startswith(
        f"EMS-HMAC-SHA256 Credential=loyalty_key/{now:%Y%m%d}/eu/suite/ems_request, "
        "SignedHeaders=content-type;host;x-ems-date, "
    )
    verifier = Escher(
        "-",
        "-",
        "eu/suite/ems_request",
        {
            "algo_prefix": "EMS",
            "vendor_key": "EMS",
            "auth_header_name": "X-EMS-Auth",
            "date_header_name": "X-EMS-Date",
        },
    )
    request = {
        "method": "POST",
        "url": "/v2/hook?x=1",
        "headers": [[k, v] for k, v in headers.items()],
        "body": '{"a": 1}',
    }
    assert verifier.authenticate(request, {"loyalty_key": "s3cr3t"}) == "loyalty_key"
    tampered = {**request, "body": '{"a": 2}'}
    with pytest.raises(Exception, match="signature"):
        verifier.authenticate(tampered, {"loyalty_key": "s3cr3t"})


def test_an_aws_site_sends_a_signature_of_what_it_sent(modules, sent):
    with Receiver() as rx:
        site = make_site(
            rx.url + "/prod",
            auth="aws",
            username="AKIDEXAMPLE",
            secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            aws_region="eu-west-1",
            aws_service="execute-api",
        )
        row = sent(delivery.enqueue_message, site, "points", '{"points": 5}')
        row.refresh_from_db()
        assert row.status == DeliveryStatus.DONE
        headers, body, path = rx.accepted[0]
    # Checked by escherauth in AWS4 mode over what the receiver got (path, headers, body).
    verifier = Escher(
        "-",
        "-",
        "eu-west-1/execute-api/aws4_request",
        {
            "algo_prefix": "AWS4",
            "vendor_key": "AWS4",
            "auth_header_name": "Authorization",
            "date_header_name": "X-Amz-Date",
        },
    )
    request = {"method": "POST", "url": path, "headers": [[k, v] for k, v in headers.items()], "body": body}
    assert (
        verifier.authenticate(request, {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
        == "AKIDEXAMPLE"
    )
    assert "SignedHeaders=content-type;host;x-amz-date" in headers["authorization"]
    assert path == "/prod/points"


class TokenServer(Receiver):
    """Answers POST /token with an access token (counting them), anything else with 200 unless the
    token is wrong (401)."""

    def __init__(self, expires_in=3600, token_status=200):
        super().__init__(self._answer)
        self.issued = 0
        self.expires_in = expires_in
        self.token_status = token_status
        self.valid = set()

    def _answer(self, number):
        headers, body, path = self.requests[number - 1]
        if path == "/token":
            if self.token_status != 200:
                return ("status", self.token_status, b'{"error": "invalid_client"}')
            self.issued += 1
            token = f"tok-{self.issued}"
            self.valid.add(token)
            answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
            return ("status", 200, json.dumps(answer).encode())
        given = headers.get("authorization", "")[7:]
        return 200 if given in self.valid else 401


def _oauth_site(server, **fields):
    return make_site(
        server.url + "/hook",
        auth="oauth",
        username="loyalty-client",
        secret="client-secret-1",
        oauth_token_url=server.url + "/token",
        oauth_scope="webhooks.write",
        **fields,
    )


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    sending._tokens.clear()
    yield
    sending._tokens.clear()


def test_oauth_fetches_a_client_credentials_token_once_and_reuses_it(modules, sent):
    with TokenServer() as server:
        site = _oauth_site(server)
        for _ in range(3):
            row = sent(delivery.enqueue_message, site, "", "{}")
            row.refresh_from_db()
            assert row.status == DeliveryStatus.DONE
        token_requests = [(h, b) for h, b, p in server.requests if p == "/token"]
        hooks = [h for h, b, p in server.requests if p == "/hook"]
    assert server.issued == 1 and len(token_requests) == 1
    headers, body = token_requests[0]
    assert parse_qs(body) == {"grant_type": ["client_credentials"], "scope": ["webhooks.write"]}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"loyalty-client:client-secret-1").decode()
    assert [h["authorization"] for h in hooks] == ["Bearer tok-1"] * 3


def test_an_expired_token_is_fetched_again(modules, sent):
    with TokenServer(expires_in=120) as server:
        site = _oauth_site(server)
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            sent(delivery.enqueue_message, site, "", "{}")
            clock.shift(dt.timedelta(seconds=60))  # still valid (120 s less the 30 s margin)
            sent(delivery.enqueue_message, site, "", "{}")
            clock.shift(dt.timedelta(seconds=40))
            sent(delivery.enqueue_message, site, "", "{}")
        hooks = [h["authorization"] for h, b, p in server.requests if p == "/hook"]
    assert hooks == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_401_drops_the_cached_token_and_the_retry_gets_a_new_one(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [10]
    with TokenServer() as server:
        site = _oauth_site(server)
        sent(delivery.enqueue_message, site, "", "{}")
        server.valid.clear()  # the site revoked its tokens
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            row = sent(delivery.enqueue_message, site, "", "{}")
            row.refresh_from_db()
            assert (row.status, row.last_status_code) == (DeliveryStatus.RETRYING, 401)
            clock.shift(dt.timedelta(seconds=11))
            from webhooks import worker

            worker.deliver_due()
            row.refresh_from_db()
    assert row.status == DeliveryStatus.DONE and server.issued == 2


def test_a_refused_token_request_is_a_clear_error_and_a_retry(modules, sent):
    with TokenServer(token_status=401) as server:
        site = _oauth_site(server)
        row = sent(delivery.enqueue_message, site, "", "{}")
        row.refresh_from_db()
        assert [p for _, _, p in server.requests] == ["/token"]  # the site itself is not called
    assert row.status == DeliveryStatus.RETRYING
    assert row.last_error.startswith("OAuth token endpoint answered HTTP 401")


def _form(**fields):
    data = {
        "name": "s",
        "url": "https://93.184.215.14/hook",
        "content_type": "application/json",
        "jwt_algorithm": "HS256",
        "jwt_claims": "{}",
        "timeout_seconds": 5,
        "max_concurrency": 2,
        "active": "on",
        **fields,
    }
    return TrustedSiteForm(data=data)


def test_the_form_asks_for_what_aws_and_oauth_need(modules):
    aws = _form(auth_method="aws")
    assert not aws.is_valid()
    assert {"username", "aws_region", "aws_service", "secret"} <= set(aws.errors)
    oauth = _form(
        auth_method="oauth", oauth_token_url="https://93.184.215.14/token", username="c", secret="x"
    )
    assert oauth.is_valid(), oauth.errors
    assert set(_form(auth_method="oauth").errors) >= {"username", "oauth_token_url", "secret"}
    ok = _form(
        auth_method="aws",
        username="AKID",
        aws_region="eu-west-1",
        aws_service="execute-api",
        aws_vendor_key="bad key!",
        secret="x",
    )
    assert not ok.is_valid() and "aws_vendor_key" in ok.errors


def test_the_oauth_token_url_passes_the_ssrf_check(modules, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    form = _form(
        auth_method="oauth", oauth_token_url="http://169.254.169.254/token", username="c", secret="x"
    )
    assert not form.is_valid()
    assert "private or reserved" in form.errors["oauth_token_url"][0]
    assert _form(auth_method="oauth", username="c", secret="x").errors["oauth_token_url"]


def test_aws_and_oauth_secrets_are_stored_encrypted_and_shown_only_as_a_hint(modules, admin_client):
    from webhooks.models import TrustedSite

    response = admin_client.post(
        "/settings/trusted-sites/add/",
        {
            "name": "aws-site",
            "url": "https://93.184.215.14/hook",
            "content_type": "application/json",
            "auth_method": "aws",
            "username": "AKIDEXAMPLE",
            "aws_region": "eu-west-1",
            "aws_service": "execute-api",
            "jwt_algorithm": "HS256",
            "jwt_claims": "{}",
            "timeout_seconds": 5,
            "max_concurrency": 2,
            "active": "on",
            "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    site = TrustedSite.objects.get(name="aws-site")
    assert "EXAMPLEKEY" not in site.secret_encrypted
    assert secrets.decrypt(site.secret_encrypted) == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    page = admin_client.get(f"/settings/trusted-sites/{site.pk}/").content.decode()
    assert "wJalrXUtnFEMI" not in page
