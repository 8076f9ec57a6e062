"""loyalty.configcache: configuration kept per process, reloaded after a change anywhere."""

import pytest
from django.core.cache import cache

from loyalty import configcache
from loyalty.models import Program


class Loader:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return f"value {self.calls}"


def test_loads_once_and_reuses_the_value():
    loader = Loader()
    assert configcache.get("item", loader) == "value 1"
    assert configcache.get("item", loader) == "value 1"
    assert loader.calls == 1


def test_changed_reloads_in_this_process():
    loader = Loader()
    configcache.get("item", loader)
    configcache.changed()
    assert configcache.get("item", loader) == "value 2"


def test_a_change_by_another_process_is_seen_at_the_next_check():
    loader = Loader()
    configcache.get("item", loader)
    cache.set(configcache.GENERATION_KEY, "set-by-another-worker", None)
    assert configcache.get("item", loader) == "value 2"  # tests check every time
    assert configcache.get("item", loader) == "value 2"


def test_between_checks_the_process_keeps_its_copy(settings):
    settings.CONFIG_CACHE_CHECK_SECONDS = 3600
    loader = Loader()
    configcache.get("item", loader)
    cache.set(configcache.GENERATION_KEY, "set-by-another-worker", None)
    assert configcache.get("item", loader) == "value 1"
    configcache.changed()  # a change made in this process is seen at once
    assert configcache.get("item", loader) == "value 2"


def test_a_cleared_shared_cache_counts_as_a_change():
    loader = Loader()
    configcache.get("item", loader)
    cache.clear()
    assert configcache.get("item", loader) == "value 2"


def test_a_value_loaded_while_a_change_happened_is_not_kept():
    calls = []

    def loader():
        calls.append(1)
        if len(calls) == 1:
            configcache.changed()  # another thread saved the configuration meanwhile
        return len(calls)

    assert configcache.get("item", loader) == 1
    assert configcache.get("item", loader) == 2


@pytest.mark.django_db(transaction=True)
def test_a_change_is_announced_again_on_commit():
    """A process that reloads between the save and the commit would keep the old row: the
    generation moves again when the transaction commits."""
    from django.db import transaction

    with transaction.atomic():
        configcache.changed()
        inside = cache.get(configcache.GENERATION_KEY)
    assert cache.get(configcache.GENERATION_KEY) not in (None, inside)


@pytest.mark.django_db
def test_saving_the_program_reaches_the_next_read():
    assert Program.current().multi_accounts is False
    program = Program.objects.get(pk=Program.current().pk)
    program.multi_accounts = True
    program.save()
    assert Program.current().multi_accounts is True


# --- issue 14 §6: the generation is shared through the database when there is no Redis ---------


def test_the_database_store_sees_a_change_made_elsewhere(settings, db):
    settings.CONFIG_GENERATION_STORE = "database"
    configcache.reset()
    loader = Loader()
    assert configcache.get("item", loader) == "value 1"
    assert configcache.get("item", loader) == "value 1"
    from django.db import connection

    with connection.cursor() as cursor:  # what another process's configcache.changed() does
        cursor.execute("UPDATE loyalty_configgeneration SET generation = generation + 1 WHERE id = 1")
        if cursor.rowcount == 0:
            cursor.execute("INSERT INTO loyalty_configgeneration (id, generation) VALUES (1, 7)")
    assert configcache.get("item", loader) == "value 2"


def test_auto_uses_the_database_without_redis(settings):
    settings.CONFIG_GENERATION_STORE = "auto"
    settings.REDIS_URL = ""
    assert configcache.store() == "database"
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert configcache.store() == "cache"


@pytest.mark.postgres
def test_two_processes_without_redis_see_each_others_changes(transactional_db):
    """Two real worker processes with process-local caches (no REDIS_URL): a change saved in one is
    seen by the other at its next check (0.2 s here)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("two processes need a shared database (the SQLite test database is in memory)")
    Program.current()  # the row exists
    s = connection.settings_dict
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:"
        f"{s.get('PORT') or 5432}/{s['NAME']}",
        "CONFIG_CACHE_CHECK_SECONDS": "0.2",
        "PYTHONPATH": str(root),
    }
    for name in ("REDIS_URL", "TEST_DATABASE_NAME", "LOYALTY_TESTING", "CONFIG_GENERATION_STORE"):
        env.pop(name, None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.faults.configchild"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    def ask(worker, command: str) -> str:
        worker.stdin.write(command + "\n")
        worker.stdin.flush()
        return worker.stdout.readline().strip()

    try:
        a, b = workers
        original = ask(a, "get")
        assert ask(b, "get") == original
        assert ask(a, "rename Renamed in A") == "ok"
        assert ask(a, "get") == "Renamed in A"  # at once in the process that saved
        time.sleep(0.3)
        assert ask(b, "get") == "Renamed in A"  # within the check interval in the other one
        assert ask(b, "rename Renamed in B") == "ok"
        time.sleep(0.3)
        assert ask(a, "get") == "Renamed in B"
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=10)
