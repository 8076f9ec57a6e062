"""Exactly once under a real kill: a django-q2 cluster (`manage.py qcluster`, ORM broker) walks a
run with several actions, is killed with SIGKILL in the middle of one, restarts, and every action
is applied exactly once.

The kill lands at a known point: the third node (a Referral bonus on the advocate) waits for the
advocate's row, which the test holds locked, while the first two nodes' events and steps are
committed. The dead worker's open transaction (the third node's event) is rolled back by
PostgreSQL; the ORM broker redelivers the task after Q_RETRY seconds to the restarted cluster,
whose walk follows the recorded steps of nodes 1-2 and applies nodes 3-4 once.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django_q.tasks import async_task

from events.models import Event
from loyalty.models import Program
from tests import factories
from tests.conftest import is_postgres
from workflows.choices import RunStatus
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

ROOT = Path(__file__).resolve().parents[2]
RETRY = 32  # seconds before the broker redelivers a task taken by a worker that died


def _cluster() -> subprocess.Popen:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "Q_WORKERS": "1",
        "Q_TIMEOUT": str(RETRY - 2),
        "Q_RETRY": str(RETRY),
        "CONFIG_CACHE_CHECK_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LOYALTY_TESTING", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: the kill takes the workers with it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(cluster: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if cluster.poll() is None:
        os.killpg(cluster.pid, sig)
    try:
        cluster.wait(15)
    except subprocess.TimeoutExpired:  # a worker stuck on the database: end it
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(15)


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_applies_every_action_exactly_once(program):
    if not is_postgres():
        pytest.skip("a real worker process needs a database it can share: PostgreSQL")
    Program.objects.filter(pk=program.pk).update(referrals=True, workflows=True)
    for customer in ("Ada-1",):
        factories.register("opt_in", customer)
    factories.register("referral_code_create", "Ada-1", {"code": "ADA-9", "usage_limit": 0})
    factories.register("opt_in", "Fred-1", {"referral_code": "ADA-9"})
    login = factories.register("login", "Fred-1").event  # before the workflow: nothing queued inline
    ada_before = factories.live("Ada-1").spendable
    workflow = make_workflow(
        chain(
            on_event("login"),
            {"id": "first", "type": "point_add", "config": {"points": 10}},
            {"id": "label", "type": "add_label", "config": {"label": "seen"}},
            {"id": "refer", "type": "referral_bonus", "config": {"points": 50}},
            {"id": "last", "type": "point_add", "config": {"points": 5}},
        )
    )
    # Queue the action branch on the ORM broker (tests run tasks inline unless told not to).
    async_task("workflows.tasks.run_for_events", "live", [login.pk], 0, None, login.pk, {}, sync=False)
    db = settings.DATABASES["default"]
    blocker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    blocker.execute("SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE", [factories.live("Ada-1").pk])
    cluster = _cluster()
    try:
        run = _wait(lambda: WorkflowRun.objects.filter(workflow=workflow).first(), 60, "the run")
        _wait(lambda: RunStep.objects.filter(run=run, node="label").exists(), 60, "the first two nodes")
        # The worker now waits for Ada's row inside the third node's transaction: kill it there.
        _wait(
            lambda: blocker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0],
            30,
            "the worker to wait on the advocate's row",
        )
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(10)
    finally:
        _stop(cluster, signal.SIGKILL)
        blocker.rollback()
        blocker.close()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert set(RunStep.objects.filter(run=run).values_list("node", flat=True)) == {"first", "label"}
    assert not Event.objects.filter(action="referral_bonus").exists()  # rolled back with the worker

    restarted = _cluster()
    try:
        _wait(
            lambda: WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.SUCCESS).exists(),
            RETRY + 120,
            "the redelivered run to finish",
        )
    finally:
        _stop(restarted)
    made = Event.objects.filter(workflow_id=workflow.pk).order_by("id")
    assert [(e.action, e.points) for e in made if e.action == "point_add"] == [
        ("point_add", 10),
        ("point_add", 5),
    ]
    assert made.filter(action="profile").count() == 1
    assert made.filter(action="referral_bonus").count() == 1
    assert factories.live("Fred-1").spendable == 15
    assert factories.live("Ada-1").spendable == ada_before + 50
    assert list(factories.live("Fred-1").labels.values_list("name", flat=True)) == ["seen"]
    assert RunStep.objects.filter(run=run).count() == 4
    assert connection.vendor == "postgresql"
