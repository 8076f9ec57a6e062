"""Resumable and exactly-once (PostgreSQL): a worker killed with SIGKILL mid-import, started again,
ends exactly where an uninterrupted run ends; two imports over the same customers side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from customers.models import Customer
from dataio import running, wizard
from dataio.models import DataImport
from events.models import Event
from tests.conftest import is_postgres

from .conftest import upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 300


@pytest.fixture(autouse=True)
def _postgres_only():
    if not is_postgres():
        pytest.skip("PostgreSQL: another process and concurrent transactions on one database")


def events_file(prefix: str, n: int = N, points=lambda i: i) -> str:
    lines = ["customer,action,points"]
    for i in range(1, n + 1):
        lines.append(f"{prefix}-{i},opt_in,")
        lines.append(f"{prefix}-{i},point_add,{points(i)}")
    return "\n".join(lines) + "\n"


def ready(content: str) -> DataImport:
    data_import = upload("events", content)
    assert wizard.save_mapping(data_import, data_import.mapping) == []
    running.validate(data_import.pk)
    data_import.refresh_from_db()
    assert data_import.status == "validated"
    DataImport.objects.filter(pk=data_import.pk).update(status="processing")
    return data_import


WORKER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "loyalty.settings"
django.setup()
from django.conf import settings
settings.MEDIA_ROOT = sys.argv[2]
settings.DATAIO_CHUNK_ROWS = 20
settings.DATAIO_CHUNK_PAUSE = 0.05
from dataio.running import run
run(int(sys.argv[1]))
"""


def test_a_worker_killed_mid_import_resumes_with_no_row_twice_and_none_skipped(settings):
    data_import = ready(events_file("K"))
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LOYALTY_TESTING": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(data_import.pk), str(settings.MEDIA_ROOT)],
        cwd=django_settings.BASE_DIR,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = DataImport.objects.values_list("rows_done", flat=True).get(pk=data_import.pk)
            if done >= 100:
                break
            assert worker.poll() is None, "the worker ended before it could be killed"
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
    data_import.refresh_from_db()
    checkpoint = data_import.rows_done
    assert 100 <= checkpoint < 2 * N and data_import.status == "processing"
    # the checkpoint is exactly what was applied: its rows and nothing of the next chunk
    assert Event.objects.filter(source="import").count() == checkpoint
    settings.DATAIO_CHUNK_ROWS = 20
    assert running.run(data_import.pk) == "finished"
    data_import.refresh_from_db()
    assert (data_import.rows_done, data_import.created, data_import.failed) == (2 * N, 2 * N, 0)
    assert Event.objects.filter(source="import").count() == 2 * N
    spendable = dict(Customer.objects.values_list("customer_id", "spendable"))
    assert spendable == {f"K-{i}": i for i in range(1, N + 1)}  # as an uninterrupted run leaves it


def test_a_second_worker_on_the_same_import_applies_nothing_twice(settings):
    settings.DATAIO_CHUNK_ROWS = 10
    data_import = ready(events_file("D", 40))
    results = []

    def work():
        try:
            results.append(running.run(data_import.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data_import.refresh_from_db()
    assert data_import.status == "finished" and data_import.rows_done == 80
    assert Event.objects.filter(source="import").count() == 80
    assert sum(Customer.objects.values_list("spendable", flat=True)) == sum(range(1, 41))


def test_two_imports_touching_the_same_customers_run_side_by_side(settings):
    settings.DATAIO_CHUNK_ROWS = 10
    customers = "\n".join(["customer,action"] + [f"S-{i},opt_in" for i in range(1, 31)]) + "\n"
    first = ready(customers)
    assert running.run(first.pk) == "finished"
    forward = "customer,action,points\n" + "".join(f"S-{i},point_add,{i}\n" for i in range(1, 31))
    backward = "customer,action,points\n" + "".join(f"S-{i},point_add,100\n" for i in range(30, 0, -1))
    imports = [ready(forward), ready(backward)]
    statuses = []

    def work(pk):
        try:
            statuses.append(running.run(pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i.pk,)) for i in imports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == ["finished", "finished"]
    spendable = dict(Customer.objects.values_list("customer_id", "spendable"))
    assert spendable == {f"S-{i}": i + 100 for i in range(1, 31)}


PARTITION_WORKER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "loyalty.settings"
django.setup()
from django.conf import settings
settings.MEDIA_ROOT = sys.argv[3]
settings.DATAIO_CHUNK_ROWS = 20
settings.DATAIO_CHUNK_PAUSE = 0.1
from dataio.running import run_partition
run_partition(int(sys.argv[1]), int(sys.argv[2]))
"""


def test_partition_workers_killed_mid_import_resume_each_from_its_own_checkpoint(settings):
    """P=2, as the django-q2 cluster runs it: one worker process per partition, both killed with
    SIGKILL mid-import; resuming ends in exactly the state an uninterrupted run leaves."""
    from dataio.models import ImportPartition, ImportRowError

    from .test_partitions import events_file as mixed_file
    from .test_partitions import state

    settings.DATAIO_IMPORT_PARTITIONS = 2
    settings.DATAIO_CHUNK_ROWS = 20
    reference = ready(mixed_file("U", 150))
    assert running.run(reference.pk) == "finished_with_errors"  # uninterrupted (sync: in turn)
    data_import = ready(mixed_file("P", 150))
    assert running.open_partitions(data_import) == [0, 1]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "LOYALTY_TESTING": "1",
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                PARTITION_WORKER,
                str(data_import.pk),
                str(index),
                str(settings.MEDIA_ROOT),
            ],
            cwd=django_settings.BASE_DIR,
            env=env,
        )
        for index in (0, 1)
    ]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = list(
                ImportPartition.objects.filter(data_import=data_import)
                .order_by("index")
                .values_list("rows_done", flat=True)
            )
            if min(done) >= 40:
                break
            assert all(w.poll() is None for w in workers), "a worker ended before it could be killed"
            time.sleep(0.02)
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    data_import.refresh_from_db()
    parts = list(
        ImportPartition.objects.filter(data_import=data_import).values_list("rows_done", "finished_at")
    )
    assert all(at is None and done >= 40 for done, at in parts) and data_import.status == "processing"
    # the checkpoints are exactly what was applied: each applied row is one event or one row error
    applied = Event.objects.filter(source="import", customer__customer_id__startswith="P-").count()
    failed = ImportRowError.objects.filter(data_import=data_import).count()
    assert (
        applied + failed == data_import.rows_done == sum(done for done, _at in parts) < data_import.total_rows
    )
    assert running.resume(data_import)  # sync mode: each partition from its checkpoint, in turn
    assert state(data_import, "P") == state(reference, "U")
