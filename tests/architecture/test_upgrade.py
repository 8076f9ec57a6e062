"""The upgrade path: a database made by the code before the layout change (main at f0e45d0, the
last commit before it) migrates forward with today's code, applies no unexpected operation, keeps
its data consistent, and runs on.

Each step is a separate process on a separate database (a SQLite file, or a fresh PostgreSQL
database when the suite runs on PostgreSQL), the old code taken from git history.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import uuid

import pytest
from django.db import connection

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASELINE = "f0e45d0"  # main before issue 12's layout change

OLD_DATA = """
from events.engine import register_event
from loyalty.models import Program
program = Program.current(); program.tiers = True; program.save()
for n in range(3):
    cid = f"up-{n}"
    register_event(environment="live", customer=cid, action="opt_in", data={"email": f"{cid}@example.com"})
    register_event(environment="live", customer=cid, action="point_add", data={"points": 100 + n})
    register_event(environment="live", customer=cid, action="point_spend", data={"points": 10})
    register_event(environment="live", customer=cid, action="checkout",
                   data={"transaction_id": f"T-{n}", "total": 25, "items": [{"product_id": "P", "price": 25, "quantity": 1}]})
register_event(environment="live", customer="up-0", action="merge", data={"source": "up-2"})
print("seeded")
"""

NEW_CHECKS = """
import json
from django.db.migrations.executor import MigrationExecutor
from django.db import connection
from django.utils.module_loading import import_string
from django_q.models import Schedule
from customers.models import Customer
from events.engine import register_event
from loyalty.ledger.checks import verify_customer
problems = {c.customer_id: verify_customer(c) for c in Customer.objects.all()}
register_event(environment="live", customer="up-1", action="point_add", data={"points": 5})
funcs = [import_string(s.func).__name__ for s in Schedule.objects.all()]
plan = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
print(json.dumps({"problems": {k: v for k, v in problems.items() if v}, "schedules": funcs,
                  "pending": len(plan), "spendable": Customer.objects.get(customer_id="up-1").spendable}))
"""


def run(cwd, env, *args, stdin=None):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture
def old_tree(tmp_path):
    known = subprocess.run(["git", "cat-file", "-e", f"{BASELINE}^{{commit}}"], cwd=ROOT, capture_output=True)
    if known.returncode != 0:
        shallow = subprocess.run(
            ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
        )
        if shallow.stdout.strip() == "true":
            pytest.skip(f"a shallow clone has no {BASELINE}: the upgrade test needs the history")
        pytest.fail(f"git history without {BASELINE}: the upgrade test needs a full clone")
    archive = tmp_path / "old.tar"
    subprocess.run(["git", "archive", "-o", str(archive), BASELINE], cwd=ROOT, check=True)
    tree = tmp_path / "old"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


@pytest.fixture
def database_url(tmp_path):
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    settings = connection.settings_dict
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    base = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_layout_change_migrates_forward_and_stays_consistent(
    old_tree, database_url
):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "Q_SYNC": "1",
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
    }
    env.pop("TEST_DATABASE_NAME", None)
    env.pop("PYTHONPATH", None)
    run(old_tree, env, "migrate", "--no-input")
    assert "seeded" in run(old_tree, env, "shell", stdin=OLD_DATA)

    plan = run(ROOT, env, "migrate", "--plan")
    # Only migrations added since the baseline may run; none of the baseline's is re-applied.
    planned = re.findall(r"^([a-z_]+)\.(\d{4}_\w+)$", plan, re.M)
    baseline = {(p.parent.parent.name, p.stem) for p in old_tree.rglob("migrations/0*.py")}
    assert [m for m in planned if m in baseline] == [], plan
    run(ROOT, env, "migrate", "--no-input")

    facts = json.loads(run(ROOT, env, "shell", stdin=NEW_CHECKS).strip().splitlines()[-1])
    assert facts["problems"] == {}
    assert facts["pending"] == 0
    assert "expire_and_activate" in facts["schedules"]
    assert facts["spendable"] == 101 - 10 + 5  # the old events and one registered by the new code
