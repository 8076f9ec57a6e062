"""Outgoing delivery against a real local receiver: signing checked by the standardwebhooks
reference implementation, the retry schedule with the clock moved, dead letters and replay, the
circuit breaker, the per-site limit, and sites that misbehave (timeouts, 500s, redirects, 50 MB)."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from loyalty.errors import EngineError
from tests.factories import anna as make_anna
from tests.factories import register
from webhooks import delivery, worker
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, TrustedSite

from .conftest import make_site, subscribe
from .receiver import Receiver

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _points(sent, points=10, customer="Anna-1"):
    return sent(register, "point_add", customer, {"points": points})


def test_a_subscribed_event_reaches_the_site_signed_by_the_standard(site, receiver, sent):
    make_anna()
    subscribe(site)
    result = _points(sent, 25)
    assert len(receiver.accepted) == 1
    headers, body, path = receiver.accepted[0]
    assert path == "/hooks"
    # The receiver side of the reference implementation accepts it.
    payload = Webhook(SECRET).verify(body, headers)
    assert payload["type"] == "point_add"
    assert payload["data"]["customer"] == "Anna-1"
    assert payload["data"]["event"]["id"] == result.event.pk
    assert payload["data"]["event"]["points"] == 25
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.DONE and row.attempts == 1 and row.last_status_code == 200
    assert headers["webhook-id"] == row.msg_id


def test_a_wrong_secret_fails_the_reference_verification(site, receiver, sent):
    make_anna()
    subscribe(site)
    _points(sent)
    headers, body, _ = receiver.accepted[0]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "AAAA" * 8).verify(body, headers)


def test_actions_not_subscribed_send_nothing(site, receiver, sent):
    subscribe(site, actions=["checkout"])
    sent(make_anna)
    _points(sent)
    assert receiver.requests == [] and not Delivery.objects.exists()


def test_the_module_off_sends_nothing(site, receiver, sent, program):
    from loyalty.models import Program

    subscribe(site)
    row = Program.objects.get(pk=program.pk)
    row.webhooks = False
    row.save()
    make_anna()
    _points(sent)
    assert receiver.requests == []


def test_a_dry_run_or_refused_event_sends_nothing(site, receiver, sent):
    make_anna()
    subscribe(site)
    sent(register, "point_add", "Anna-1", {"points": 5}, dry_run=True)
    with pytest.raises(EngineError):
        sent(register, "point_add", "Anna-1", {"points": "many"})
    assert receiver.requests == []


def test_a_payload_template_renders_customer_and_event(site, receiver, sent):
    make_anna()
    subscribe(
        site,
        path="customers/{{ customer.id }}",
        payload_template='{"email": {{ customer.email | tojson }}, "points": {{ event.points }}}',
    )
    _points(sent, 7)
    headers, body, path = receiver.accepted[0]
    assert json.loads(body) == {"email": "anna@example.com", "points": 7}
    assert path == "/hooks/customers/Anna-1"


def test_a_broken_template_is_a_failed_delivery_with_the_error_and_replays_once_fixed(site, receiver, sent):
    make_anna()
    sub = subscribe(site, payload_template='{"x": {{ customer.nope.deeper() }}}')
    _points(sent)
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.FAILED and row.last_error.startswith("Template error")
    assert receiver.requests == []
    sub.payload_template = '{"fixed": true}'
    sub.save()
    sent(delivery.replay, [row.pk])
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DONE
    assert json.loads(receiver.accepted[0][1]) == {"fixed": True}


def test_the_retry_schedule_follows_the_settings_with_the_clock_moved(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = [10, 60, 3600]
    settings.WEBHOOK_BREAKER_FAILURES = 1000
    with Receiver(lambda n: 503) as down:
        site = make_site(down.url)
        subscribe(site)
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            make_anna()
            _points(sent)
            row = Delivery.objects.get()
            assert (row.status, row.attempts) == (DeliveryStatus.RETRYING, 1)
            assert row.next_attempt_at == start + dt.timedelta(seconds=10)
            # Not due yet: the sweep leaves it alone.
            clock.shift(dt.timedelta(seconds=9))
            assert worker.deliver_due() == {}
            clock.shift(dt.timedelta(seconds=1))
            worker.deliver_due()
            row.refresh_from_db()
            assert row.attempts == 2
            assert row.next_attempt_at == start + dt.timedelta(seconds=10 + 60)
            clock.shift(dt.timedelta(seconds=60))
            worker.deliver_due()
            row.refresh_from_db()
            assert row.next_attempt_at == start + dt.timedelta(seconds=10 + 60 + 3600)
            clock.shift(dt.timedelta(seconds=3600))
            worker.deliver_due()
            row.refresh_from_db()
            # 4 attempts = 3 delays + 1: then it is a dead letter.
            assert (row.status, row.attempts, row.next_attempt_at) == (DeliveryStatus.FAILED, 4, None)
            assert len(down.requests) == 4
            assert len({h["webhook-id"] for h, _, _ in down.requests}) == 1  # one id, every attempt
            assert row.attempt_rows.count() == 4


def test_the_default_schedule_lasts_hours_over_about_twelve_attempts(settings):
    delays = settings.WEBHOOK_RETRY_DELAYS
    assert len(delays) + 1 == 12
    assert delays[0] == 10 and delays[-1] == 6 * 3600
    assert sum(delays) > 12 * 3600


def test_a_receiver_down_for_an_hour_then_back_loses_nothing_and_gets_each_message_once(modules, sent):
    state = {"up": False}
    with Receiver(lambda n: 200 if state["up"] else 503) as flaky:
        site = make_site(flaky.url, max_concurrency=2)
        subscribe(site)
        start = timezone.now()
        with time_machine.travel(start, tick=False) as clock:
            make_anna()
            for _ in range(20):
                _points(sent, 1)
            # An hour of outage, swept (every 5 minutes here; the Schedule runs every minute).
            for _ in range(12):
                clock.shift(dt.timedelta(minutes=5))
                worker.deliver_due()
            assert flaky.accepted == []
            assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 0
            state["up"] = True
            for _ in range(30):  # the longest remaining delay at this point is under 2 hours
                clock.shift(dt.timedelta(minutes=5))
                worker.deliver_due()
                if not Delivery.objects.exclude(status=DeliveryStatus.DONE).exists():
                    break
    assert Delivery.objects.filter(status=DeliveryStatus.DONE).count() == 20
    ids = [h["webhook-id"] for h, _, _ in flaky.accepted]
    assert len(ids) == 20 and len(set(ids)) == 20
    # The circuit breaker kept the outage from burning attempts: far fewer requests than 20 × retries.
    assert len(flaky.requests) < 20 * 6


def test_dead_letters_replay_with_the_same_webhook_id_after_the_url_is_fixed(modules, sent, settings):
    settings.WEBHOOK_RETRY_DELAYS = []
    with Receiver(lambda n: 500) as broken, Receiver() as fixed:
        site = make_site(broken.url)
        subscribe(site)
        make_anna()
        _points(sent)
        _points(sent)
        rows = list(Delivery.objects.order_by("pk"))
        assert {r.status for r in rows} == {DeliveryStatus.FAILED}
        site.url = fixed.url
        site.save()
        assert sent(delivery.replay, [r.pk for r in rows]) == 2
        assert sorted(h["webhook-id"] for h, _, _ in fixed.accepted) == sorted(r.msg_id for r in rows)
        assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DONE}


def test_the_circuit_opens_after_repeated_failures_and_waits_without_spending_attempts(
    modules, sent, settings
):
    settings.WEBHOOK_BREAKER_FAILURES = 2
    settings.WEBHOOK_BREAKER_SECONDS = 300
    with Receiver(lambda n: 500) as down:
        site = make_site(down.url)
        subscribe(site)
        make_anna()
        _points(sent)
        _points(sent)
        _points(sent)
        site.refresh_from_db()
        assert site.circuit_open_until is not None
        third = Delivery.objects.order_by("pk").last()
        assert third.attempts == 0 and third.next_attempt_at == site.circuit_open_until
        assert len(down.requests) == 2


def test_the_per_site_limit_defers_a_delivery_while_others_are_in_flight(site, sent):
    site.max_concurrency = 1
    site.save()
    make_anna()
    row = delivery.Delivery.objects.create(
        site=site,
        source="workflow",
        msg_id="msg_busy",
        created_at=timezone.now(),
        claimed_until=timezone.now() + dt.timedelta(seconds=30),
        status="queued",
        body="{}",
        next_attempt_at=timezone.now() + dt.timedelta(hours=1),
    )
    other = delivery.enqueue_message(site, "", "{}", None)
    assert worker.attempt(other.pk) == "site busy"
    other.refresh_from_db()
    assert other.attempts == 0 and other.next_attempt_at > timezone.now()
    assert row.status == "queued"


@pytest.mark.parametrize(
    "behaviour, expected",
    [
        (lambda n: 500, "HTTP 500"),
        (lambda n: ("redirect", "/hooks"), "Redirect to '/hooks' not followed"),
        (lambda n: ("slow", 3), "Timed out after 1 s"),
    ],
    ids=["500", "redirect-loop", "timeout"],
)
def test_a_misbehaving_site_gets_a_clear_log_entry_and_a_retry(modules, sent, behaviour, expected):
    with Receiver(behaviour) as bad:
        site = make_site(bad.url, timeout_seconds=1)
        row = sent(delivery.enqueue_message, site, "", '{"a": 1}', None)
        row.refresh_from_db()
        assert row.status == DeliveryStatus.RETRYING
        assert expected in row.last_error
        assert len(bad.requests) == 1  # a redirect is never followed


def test_a_50_mb_answer_is_read_only_up_to_the_cap(modules, sent, settings):
    with Receiver(lambda n: ("huge", 50 * 1024 * 1024)) as huge:
        site = make_site(huge.url)
        row = sent(delivery.enqueue_message, site, "", "{}", None)
        row.refresh_from_db()
        assert row.status == DeliveryStatus.DONE
        assert len(row.last_response) <= 2000
        attempt = row.attempt_rows.get()
        assert attempt.duration_ms < 5000


def test_a_site_that_is_gone_is_a_connection_error_in_the_log(modules, sent):
    with Receiver() as gone:
        url = gone.url
    site = make_site(url)
    row = sent(delivery.enqueue_message, site, "", "{}", None)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.RETRYING and "ConnectionError" in row.last_error


def test_enqueue_message_refuses_unknown_sites_and_paths_that_leave_the_site(site):
    with pytest.raises(delivery.NotFound):
        delivery.enqueue_message("no such site", "", "{}")
    for path in ["http://evil.example/x", "//evil.example/x", "../../admin", "a/../../b"]:
        with pytest.raises(delivery.ValidationError):
            delivery.enqueue_message(site, path, "{}")
    with pytest.raises(delivery.ValidationError):
        delivery.enqueue_message(site, "", "not json")
    assert not Delivery.objects.exists()


def test_enqueue_message_takes_a_site_name_and_sends_the_body(site, receiver, sent):
    customer = make_anna()
    row = sent(delivery.enqueue_message, "CRM", f"members/{customer.customer_id}", '{"x": 1}', customer)
    assert receiver.accepted[0][2] == "/hooks/members/Anna-1"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DONE and row.customer == customer


def test_basic_bearer_and_jwt_sites_send_their_authorization(modules, sent):
    import base64

    import jwt

    with Receiver() as server:
        basic = make_site(server.url, name="b", auth="basic", username="u", secret="pw")
        bearer = make_site(server.url, name="t", auth="bearer", secret="tok-123")
        signed = make_site(
            server.url,
            name="j",
            auth="jwt",
            secret="k" * 32,
            jwt_algorithm="HS256",
            jwt_claims={"iss": "loyalty"},
        )
        for s in (basic, bearer, signed):
            sent(delivery.enqueue_message, s, "", "{}")
        auths = [h["authorization"] for h, _, _ in server.accepted]
    assert auths[0] == "Basic " + base64.b64encode(b"u:pw").decode()
    assert auths[1] == "Bearer tok-123"
    claims = jwt.decode(auths[2][7:], "k" * 32, algorithms=["HS256"])
    assert claims["iss"] == "loyalty" and claims["exp"] - claims["iat"] == 300


def test_cleanup_deletes_finished_rows_past_retention_and_keeps_pending_ones(site, sent):
    old = timezone.now() - dt.timedelta(days=91)
    done = Delivery.objects.create(site=site, source="workflow", msg_id="m1", created_at=old, status="done")
    pending = Delivery.objects.create(
        site=site, source="workflow", msg_id="m2", created_at=old, status="retrying"
    )
    recent = Delivery.objects.create(
        site=site, source="workflow", msg_id="m3", created_at=timezone.now(), status="done"
    )
    assert delivery.cleanup() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}
    assert not Delivery.objects.filter(pk=done.pk).exists()
    assert TrustedSite.objects.count() == 1


def test_a_jwt_rs256_site_signs_with_its_private_key(modules, sent):
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with Receiver() as server:
        site = make_site(server.url, auth="jwt", secret=pem, jwt_algorithm="RS256", jwt_claims={"aud": "crm"})
        sent(delivery.enqueue_message, site, "", "{}")
        token = server.accepted[0][0]["authorization"][7:]
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="crm")
    assert claims["jti"].startswith("msg_")


def test_an_unusable_key_is_a_clear_error_in_the_log_not_a_crash(modules, sent):
    with Receiver() as server:
        site = make_site(server.url, auth="jwt", secret="not a pem key", jwt_algorithm="RS256")
        row = sent(delivery.enqueue_message, site, "", "{}")
        row.refresh_from_db()
        assert row.status == "retrying" and row.last_error
        assert server.requests == []


def test_a_form_encoded_site_gets_the_payload_as_form_fields(modules, sent):
    from urllib.parse import parse_qs

    with Receiver() as server:
        site = make_site(server.url, content_type="application/x-www-form-urlencoded")
        sent(delivery.enqueue_message, site, "", '{"customer": "Anna-1", "points": 5}')
        headers, body, _ = server.accepted[0]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(body) == {"customer": ["Anna-1"], "points": ["5"]}
