"""Issue 14 §4, §9: a real gunicorn worker killed (SIGKILL) while it handles a keyed point_add.

The test holds the customer's row lock, so the worker's request stops inside its transaction (after
claiming the Idempotency-Key); then the worker is killed with SIGKILL and the lock released. The
master starts a new worker; the client's retry with the same key is answered 200 at once (no 409,
no 10 s wait), the event is stored exactly once, the ledger invariants hold. Without a key the same
kill stores nothing and the retry stores once. PostgreSQL, no test hooks in the server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection, transaction

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.api.auth import sign
from loyalty.api.keys import create_api_key
from loyalty.ledger.checks import check_invariants

ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(base, api_key, secret, body: dict, key: str | None, timeout=30):
    text = json.dumps(body)
    host = base.split("//")[1]
    headers = {
        name: value
        for name, value in sign("POST", "/api/events", key=api_key.key, secret=secret, host=host, body=text)
    }
    headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(base + "/api/events", data=text, headers=headers, timeout=timeout)


def worker_pids(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_for(condition, what: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn workers need a shared PostgreSQL database")
    s = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:"
        f"{s.get('PORT') or 5432}/{s['NAME']}",
        "DEBUG": "1",
        "PYTHONPATH": str(ROOT),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    for name in ("TEST_DATABASE_NAME", "LOYALTY_TESTING", "REDIS_URL"):
        env.pop(name, None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    master = subprocess.Popen(
        [str(gunicorn), "loyalty.wsgi:application", "-c", "gunicorn.conf.py", "--timeout", "120"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), "gunicorn to answer")
        yield base, master
    finally:
        master.terminate()
        master.wait(timeout=BOUND_SECONDS)


def _up(base) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def point_adds() -> int:
    return Event.objects.filter(action="point_add", customer__customer_id="gk-1").count()


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["gunicorn-kill-1", None])
def test_a_killed_gunicorn_worker_never_locks_its_key(server, key):
    base, master = server
    register_event(environment="live", customer="gk-1", action="opt_in", data={"email": "gk@example.com"})
    api_key, secret = create_api_key(name="shop", environment="live")
    body = {"customer": "gk-1", "action": "point_add", "data": {"points": 9}}
    first: dict = {}

    def send_first():
        try:
            first["response"] = post(base, api_key, secret, body, key, timeout=BOUND_SECONDS)
        except requests.RequestException as error:
            first["error"] = error

    [worker] = wait_for(lambda: worker_pids(master.pid), "the worker")
    with transaction.atomic():
        Customer.objects.select_for_update().get(customer_id="gk-1")  # the worker will wait on this
        sender = threading.Thread(target=send_first)
        sender.start()
        wait_for(waiting_on_a_lock, "the worker's request to block inside its transaction")
        os.kill(worker, signal.SIGKILL)
        sender.join(timeout=BOUND_SECONDS)
    assert "error" in first  # the client saw the connection drop: it does not know the outcome
    wait_for(lambda: [p for p in worker_pids(master.pid) if p != worker], "a new worker")
    wait_for(lambda: _up(base), "the new worker to answer")
    assert point_adds() == 0  # the killed request stored nothing

    started = time.monotonic()
    retry = wait_for(lambda: _answered(base, api_key, secret, body, key), "the retry", seconds=BOUND_SECONDS)
    assert retry.status_code == 200, retry.text
    assert time.monotonic() - started < 8  # the key was taken over, not waited out (10 s, then 409)
    if key:
        again = post(base, api_key, secret, body, key)
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert point_adds() == 1
    assert check_invariants() == []


def _answered(base, api_key, secret, body, key):
    response = post(base, api_key, secret, body, key)
    return response if response.status_code != 503 else None
