"""Issue 15 §4: the Async Events API on django-q2 (sync mode in tests: the task runs at commit)."""

from __future__ import annotations

import pytest

from customers.models import Customer
from events.api.asynchronous import process
from events.engine import register_event
from events.models import Event
from loyalty.api.models import AsyncEvent

from .conftest import error_of

pytestmark = pytest.mark.django_db


def enroll(customer_id="Anna-1"):
    register_event(environment="live", customer=customer_id, action="opt_in", data={"email": "a@example.com"})


def post(api, body, capture):
    with capture(execute=True):
        return api.post("/api/v1/async/events", json=body)


def test_queue_then_poll_the_processed_answer(api, django_capture_on_commit_callbacks):
    enroll()
    response = post(
        api,
        {"customer": "Anna-1", "action": "point_add", "data": {"points": 40}},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "success" and body["metadata"] == {}
    assert body["payload"]["status"] == "queued"
    correlation_id = body["payload"]["correlation_id"]
    polled = api.get(f"/api/v1/async/events/{correlation_id}").json()["payload"]
    assert polled["status"] == "processed"
    assert polled["response"]["id"] == "Anna-1" and polled["response"]["spendable"] == 40
    assert Event.objects.filter(action="point_add").count() == 1


def test_an_engine_error_is_recorded_as_error(api, django_capture_on_commit_callbacks):
    enroll()
    body = post(
        api,
        {"customer": "Anna-1", "action": "opt_out", "correlation_id": "c-1", "data": {"reason": 5}},
        django_capture_on_commit_callbacks,
    ).json()
    response = post(
        api,
        {"customer": "Ghost-1", "action": "opt_out", "correlation_id": "c-2"},
        django_capture_on_commit_callbacks,
    )
    polled = api.get("/api/v1/async/events/c-2").json()["payload"]
    assert response.status_code == 200 and polled["status"] == "error"
    assert polled["error"]["code"] == 160212
    assert body["payload"]["correlation_id"] == "c-1"


def test_unknown_correlation_id_is_203408(api):
    response = api.get("/api/v1/async/events/nope")
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["field"]) == (203408, "correlation_id")


def test_exactly_once_however_often_the_task_runs(api, django_capture_on_commit_callbacks):
    enroll()
    post(
        api,
        {"customer": "Anna-1", "action": "point_add", "correlation_id": "once", "data": {"points": 7}},
        django_capture_on_commit_callbacks,
    )
    row = AsyncEvent.objects.get(correlation_id="once")
    assert process(row.pk) == "processed"  # a redelivered task changes nothing
    assert process(row.pk) == "processed"
    assert Event.objects.filter(action="point_add").count() == 1
    assert Customer.objects.get(customer_id="Anna-1").spendable == 7


def test_a_client_correlation_id_is_idempotent(api, django_capture_on_commit_callbacks):
    enroll()
    body = {"customer": "Anna-1", "action": "point_add", "correlation_id": "k-1", "data": {"points": 3}}
    first = post(api, body, django_capture_on_commit_callbacks)
    again = post(api, body, django_capture_on_commit_callbacks)
    assert first.status_code == again.status_code == 200
    assert again.json()["payload"]["status"] == "processed"
    assert Event.objects.filter(action="point_add").count() == 1
    other = post(api, {**body, "data": {"points": 4}}, django_capture_on_commit_callbacks)
    assert other.status_code == 409 and error_of(other)["field"] == "correlation_id"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"customer": "Anna-1", "action": "point_spend", "data": {"points": 1}}, "action"),
        ({"customer": 12, "action": "point_add", "data": {"points": 1}}, "customer"),
        ({"action": "point_add", "data": {"points": 1}}, "customer"),
        ({"customer": "Anna-1", "action": "point_add", "correlation_id": "a/b"}, "correlation_id"),
    ],
)
def test_requests_are_checked_before_queueing(api, body, field):
    response = api.post("/api/v1/async/events", json=body)
    assert response.status_code == 400 and error_of(response)["field"] == field
    assert not AsyncEvent.objects.exists()


def test_the_task_runs_on_django_q(api, django_capture_on_commit_callbacks, settings):
    """Sync mode (tests) runs the scheduled task inline through django-q2's async_task."""
    enroll()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api.post(
            "/api/v1/async/events", json={"customer": "Anna-1", "action": "point_add", "data": {"points": 2}}
        )
    assert AsyncEvent.objects.get().status == "queued" and len(callbacks) == 1
    callbacks[0]()
    assert AsyncEvent.objects.get().status == "processed"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_task_runs_register_the_event_once(live_key):
    """Two workers handed the same row at once (a redelivery): the row lock lets one register the
    event; the other finds it processed."""
    import threading

    from django.db import connection

    from loyalty.api.models import AsyncEventStatus

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking")
    enroll()
    api_key, _ = live_key
    row = AsyncEvent.objects.create(
        api_key=api_key,
        environment="live",
        correlation_id="race",
        payload={"customer": "Anna-1", "action": "point_add", "data": {"points": 9}},
        fingerprint="x",
        created_at=api_key.created_at,
    )
    barrier = threading.Barrier(3)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(process(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [AsyncEventStatus.PROCESSED] * 3
    assert Event.objects.filter(action="point_add").count() == 1
    assert Customer.objects.get(customer_id="Anna-1").spendable == 9
