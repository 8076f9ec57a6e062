"""Idempotency-Key: retries replay the first response and never register a second event."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client

from events.models import Event
from loyalty.api import idempotency
from loyalty.api.models import IdempotencyRecord
from tests.factories import enroll

from .conftest import ApiClient, error_of

ADD = {"customer": "retry", "action": "point_add", "data": {"points": 10}}


def test_a_retry_replays_the_first_response(api):
    enroll("retry")
    first = api.post("/api/events", ADD, headers={"Idempotency-Key": "abc-1"})
    again = api.post("/api/events", ADD, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Event.objects.filter(action="point_add").count() == 1


def test_errors_below_500_are_replayed_too(api):
    enroll("retry")
    spend = {"customer": "retry", "action": "point_spend", "data": {"points": 10}}
    first = api.post("/api/events", spend, headers={"Idempotency-Key": "spend-1"})
    assert first.status_code == 422
    api.post("/api/events", ADD)  # now there would be enough points
    again = api.post("/api/events", spend, headers={"Idempotency-Key": "spend-1"})
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert not Event.objects.filter(action="point_spend").exists()


def test_the_same_key_with_another_body_is_a_422(api):
    enroll("retry")
    api.post("/api/events", ADD, headers={"Idempotency-Key": "k"})
    other = api.post("/api/events", {**ADD, "data": {"points": 11}}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422
    assert error_of(other)["code"] == 140422
    assert Event.objects.filter(action="point_add").count() == 1


def test_keys_are_per_api_key(api, unsigned_api):
    enroll("retry")
    api.post("/api/events", ADD, headers={"Idempotency-Key": "shared"})
    second = unsigned_api.post("/api/events", ADD, headers={"Idempotency-Key": "shared"})
    assert second.status_code == 200 and "Idempotent-Replayed" not in second
    assert Event.objects.filter(action="point_add").count() == 2


def test_a_server_error_gives_the_key_back(api, monkeypatch):
    import events.api.views as views

    enroll("retry")
    real = views.register_from_request
    monkeypatch.setattr(views, "register_from_request", lambda *a, **k: 1 / 0)
    assert api.post("/api/events", ADD, headers={"Idempotency-Key": "flaky"}).status_code == 500
    monkeypatch.setattr(views, "register_from_request", real)
    retry = api.post("/api/events", ADD, headers={"Idempotency-Key": "flaky"})
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry
    assert Event.objects.filter(action="point_add").count() == 1


def test_records_are_kept_at_least_a_day_and_then_cleaned_up(api):
    import time_machine

    enroll("retry")
    api.post("/api/events", ADD, headers={"Idempotency-Key": "old"})
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=24), tick=False):
        assert idempotency.cleanup() == 0
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=49), tick=False):
        assert idempotency.cleanup() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_register_one_event(live_key, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking")
    import events.api.views as views

    enroll("retry")
    api_key, secret = live_key
    real = views.register_event

    def slow_register(**kwargs):
        import time

        time.sleep(0.3)  # widen the race window
        return real(**kwargs)

    monkeypatch.setattr(views, "register_event", slow_register)
    barrier = threading.Barrier(4)
    responses = []

    def send():
        try:
            barrier.wait()
            responses.append(
                ApiClient(Client(), api_key, secret).post(
                    "/api/events", ADD, headers={"Idempotency-Key": "race"}
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.content for r in responses}) == 1
    assert sum(1 for r in responses if r.get("Idempotent-Replayed") == "true") == 3
    assert Event.objects.filter(action="point_add").count() == 1


def test_the_cleanup_is_scheduled_hourly(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="loyalty.api.tasks.cleanup_idempotency_records")
    assert schedule.schedule_type == Schedule.HOURLY
