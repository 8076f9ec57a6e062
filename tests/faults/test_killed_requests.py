"""Issue 14 §4 and §9: a request whose process dies never locks its Idempotency-Key and stores nothing.

A child process (tests/faults/child.py) sends a point_add through the full API stack and is killed
with SIGKILL while inside the request's transaction, right after the engine registered the event.
Then: nothing is stored; a retry with the same key is taken over at once (no 409, no 10 s wait) and
runs exactly once; a retry without a key is stored once. PostgreSQL (the advisory lock that dies with
the connection); on SQLite the lease path is tested with a record left behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import RequestFactory

from events.engine import register_event
from events.models import Event
from loyalty import clock
from loyalty.api import idempotency
from loyalty.api.keys import create_api_key
from loyalty.api.models import IdempotencyRecord, IdempotencyStatus
from loyalty.ledger.checks import check_invariants
from tests.api.conftest import ApiClient

ROOT = Path(__file__).resolve().parents[2]
ADD = {"customer": "crash-1", "action": "point_add", "data": {"points": 7}}
BOUND_SECONDS = 60


def enroll():
    register_event(environment="live", customer="crash-1", action="opt_in", data={"email": "c@example.com"})


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def kill_mid_request(api_key, secret, key: str | None) -> None:
    """Start the child, wait until it is inside the request's transaction, SIGKILL it."""
    env = {**os.environ, "DATABASE_URL": database_url(), "LOYALTY_TESTING": "1", "PYTHONPATH": str(ROOT)}
    env.pop("TEST_DATABASE_NAME", None)
    args = [sys.executable, "-m", "tests.faults.child", api_key.key, secret, json.dumps(ADD)]
    if key:
        args.append(key)
    child = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + BOUND_SECONDS
    try:
        line = child.stdout.readline()
        assert line.strip() == "INSIDE", (line, child.stderr.read() if child.poll() is not None else "")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=max(1, deadline - time.monotonic()))
    assert child.returncode == -signal.SIGKILL


def point_adds() -> int:
    return Event.objects.filter(action="point_add", customer__customer_id="crash-1").count()


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["kill-key-1", None])
def test_a_killed_worker_stores_nothing_and_the_retry_runs_once(transactional_db, client, key):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: a real process holding a real transaction and advisory lock")
    enroll()
    api_key, secret = create_api_key(name="shop", environment="live")
    kill_mid_request(api_key, secret, key)
    assert point_adds() == 0  # the killed request's transaction rolled back
    if key:
        assert IdempotencyRecord.objects.get(key=key).status == IdempotencyStatus.IN_PROGRESS
    api = ApiClient(client, api_key, secret)
    headers = {"Idempotency-Key": key} if key else {}
    started = time.monotonic()
    retry = api.post("/api/events", json=ADD, headers=headers)
    assert retry.status_code == 200, retry.content
    assert time.monotonic() - started < idempotency.WAIT_SECONDS / 2  # taken over, not waited out
    again = api.post("/api/events", json=ADD, headers=headers)
    assert again.status_code == 200
    assert point_adds() == (1 if key else 2)
    if key:
        assert again["Idempotent-Replayed"] == "true" and again.content == retry.content
        assert IdempotencyRecord.objects.get(key=key).status == IdempotencyStatus.COMPLETE
    assert check_invariants() == []


def test_an_in_progress_key_past_its_lease_is_taken_over(api, live_key, settings):
    """SQLite's path (no advisory locks): the record a dead request left is taken over after the lease."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL uses the advisory lock (test above)")
    enroll()
    api_key, _secret = live_key
    body = json.dumps(ADD).encode()
    fake = RequestFactory().post("/api/events", data=body, content_type="application/json")
    IdempotencyRecord.objects.create(
        api_key=api_key,
        key="dead-1",
        fingerprint=idempotency.fingerprint(fake),
        created_at=clock.now() - dt.timedelta(seconds=settings.API_IDEMPOTENCY_LEASE_SECONDS + 1),
    )
    retry = api.post("/api/events", json=ADD, headers={"Idempotency-Key": "dead-1"})
    assert retry.status_code == 200, retry.content
    assert point_adds() == 1
    assert IdempotencyRecord.objects.get(key="dead-1").status == IdempotencyStatus.COMPLETE


def test_a_live_in_progress_key_is_not_taken_over(api, live_key, monkeypatch):
    if connection.vendor == "postgresql":
        pytest.skip("covered by the advisory lock")
    enroll()
    api_key, _secret = live_key
    fake = RequestFactory().post(
        "/api/events", data=json.dumps(ADD).encode(), content_type="application/json"
    )
    IdempotencyRecord.objects.create(
        api_key=api_key, key="live-1", fingerprint=idempotency.fingerprint(fake), created_at=clock.now()
    )
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    response = api.post("/api/events", json=ADD, headers={"Idempotency-Key": "live-1"})
    assert response.status_code == 409
    assert point_adds() == 0


def test_the_response_is_stored_in_the_events_transaction(api, monkeypatch):
    """§3: if storing the key's response fails, the event is not committed either (no 2xx-less event)."""
    enroll()

    def broken(record, status, body):
        raise RuntimeError("store failed")

    monkeypatch.setattr(idempotency, "complete", broken)
    response = api.post("/api/events", json=ADD, headers={"Idempotency-Key": "atomic-1"})
    assert response.status_code == 500 and response.json()["error"]["code"] == 150000
    assert point_adds() == 0
    assert not IdempotencyRecord.objects.filter(key="atomic-1").exists()  # the key was given back
