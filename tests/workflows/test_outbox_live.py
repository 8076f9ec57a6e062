"""The drain-slot protocol with real processes (workflows.outbox.schedule_drain): a django-q2
cluster on Redis with two workers, and two processes committing events at once, with pauses, while
it drains. Commits that skip their slot take (their process saw a slot held within SKIP_SECONDS)
rely on the holder's last look after LOOK_AGAIN_SECONDS: every row must be walked by the drains
alone — the minute tick, whose recovery takes only rows older than OUTBOX_GRACE, is not running."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests import factories
from tests.conftest import is_postgres
from workflows.models import PendingTrigger, WorkflowRun

from .conftest import chain, make_workflow, on_event
from .test_worker_kill import ROOT, _stop, _wait

REDIS = "redis://127.0.0.1:6379/8"  # the cluster's queue and the slot keys; emptied first
PER_PROCESS = 300
COMMITTER = r"""
import random, sys, time, django
django.setup()
from events.engine import register_event
offset, count = int(sys.argv[1]), int(sys.argv[2])
random.seed(offset)
for number in range(offset, offset + count):
    register_event(environment="live", customer=f"Live-{number % 40}", action="login", data={})
    if random.random() < 0.05:
        time.sleep(random.random() * 0.06)  # pauses around the skip window and the drains' wait
"""


def _env() -> dict:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS,
        "Q_WORKERS": "2",
        "CONFIG_CACHE_CHECK_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LOYALTY_TESTING", None)
    return env


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_row_committed_while_drains_run_is_walked_without_the_tick(program):
    if not is_postgres():
        pytest.skip("processes sharing one database: PostgreSQL")
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=0.5).flushdb()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    for number in range(40):
        factories.register("opt_in", f"Live-{number}")
    workflow = make_workflow(
        chain(on_event("login"), {"id": "tag", "type": "add_label", "config": {"label": "seen"}})
    )
    env = _env()
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        committers = [
            subprocess.Popen(
                [sys.executable, "-c", COMMITTER, str(k * PER_PROCESS), str(PER_PROCESS)], cwd=ROOT, env=env
            )
            for k in range(2)
        ]
        for committer in committers:
            assert committer.wait(120) == 0
        _wait(lambda: not PendingTrigger.objects.exists(), 30, "the drains to empty the outbox")
    finally:
        _stop(cluster)
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 2 * PER_PROCESS
