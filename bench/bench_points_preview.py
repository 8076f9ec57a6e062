"""Points Preview cost: `workflows.preview.preview_checkout` (a checkout and the campaign workflows
it triggers, rolled back) with three running double-points campaigns, against the same preview
with the Workflows module off (the checkout alone, rolled back: what the endpoint did before
campaign bonuses). CPU seconds of this process per preview, rounds alternating so both see the
same machine load; the database's own CPU is not in these figures.

PostgreSQL only (DATABASE_URL). Uses its own database, `bench_preview` (BENCH_DB overrides; created
and migrated on first use). Knobs: BENCH_PREVIEWS (per configuration, default 300),
BENCH_CUSTOMERS (100), BENCH_ROUNDS (6).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time
import uuid

from django.conf import settings

from bench.bench_checkout import ITEMS
from bench.bench_engine import _ensure_database, _use_database

CAMPAIGNS = 3


def _setup(customers: int) -> list[str]:
    from django.utils import timezone

    from events.engine import register_event
    from loyalty.ledger.accounts import default_account
    from transactions.models import EarningRule
    from workflows import editing
    from workflows.models import Campaign, Workflow

    EarningRule.objects.update_or_create(account=default_account(), defaults={"points_per_unit": 1})
    now = timezone.now()
    for workflow in Workflow.objects.filter(name__startswith="Bench double"):  # an earlier run's
        editing.set_status(workflow, False)
    for n in range(CAMPAIGNS):
        campaign, _ = Campaign.objects.update_or_create(
            name=f"Bench double {n}",
            defaults={
                "starts_at": now - dt.timedelta(days=1),
                "ends_at": now + dt.timedelta(days=30),
                "max_bonus_points": 10**9,
                "max_customer_points": 10**6,
            },
        )
        workflow, created = Workflow.objects.get_or_create(
            name=f"Bench double {n}", campaign=campaign, defaults={"priority": n}
        )
        graph = {
            "nodes": [
                {"id": "t", "type": "event_trigger", "config": {"action": "checkout"}},
                {
                    "id": "f",
                    "type": "filter_event",
                    "config": {
                        "conditions": {"conditions": [{"field": "total", "operator": "gt", "value": "10"}]}
                    },
                },
                {"id": "b", "type": "campaign_bonus", "config": {"points": "{event.points} * 2"}},
            ],
            "edges": [
                {"from": "t", "output": "action", "to": "f"},
                {"from": "f", "output": "success", "to": "b"},
            ],
        }
        if created:
            editing.save_graph(workflow, graph)
        editing.set_status(workflow, True)
    prefix = uuid.uuid4().hex[:8]
    ids = [f"p{prefix}-{i}" for i in range(customers)]
    for customer_id in ids:  # customers and balance rows exist before timing
        register_event(environment="live", customer=customer_id, action="point_add", data={"points": 10})
    return ids


def _set_workflows(on: bool) -> None:
    from loyalty.models import Program

    program = Program.objects.get(pk=Program.current().pk)
    program.workflows = on
    program.save()


def _round(ids, start: int, count: int, expected_bonus: bool) -> float:
    from events.engine import register_event
    from workflows.preview import preview_checkout

    began = time.process_time()
    for i in range(start, start + count):
        checkout = functools.partial(
            register_event,
            environment="live",
            customer=ids[i % len(ids)],
            action="checkout",
            data={"transaction_id": f"preview-{uuid.uuid4().hex}", "total": "100", "items": ITEMS},
        )
        outcome = preview_checkout("live", checkout)
        if bool(outcome.bonuses) != expected_bonus or outcome.errors:
            raise RuntimeError(f"unexpected preview: {outcome.bonuses} {outcome.errors}")
    return time.process_time() - began


def _queries(ids, workflows: bool) -> int:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    _set_workflows(workflows)
    _round(ids, 0, 1, expected_bonus=workflows)  # caches warm
    reset_queries()  # with DEBUG on, a full query log would count nothing
    with CaptureQueriesContext(connection) as captured:
        _round(ids, 1, 1, expected_bonus=workflows)
    return len(captured)


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_points_preview: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    from django.core.management import call_command

    name = os.environ.get("BENCH_DB", "bench_preview")
    n = int(os.environ.get("BENCH_PREVIEWS", "300"))
    customers = int(os.environ.get("BENCH_CUSTOMERS", "100"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "6"))
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        ids = _setup(customers)
        per_round = max(1, n // rounds)
        with_campaigns = without = 0.0
        for r in range(rounds):
            _set_workflows(True)
            with_campaigns += _round(ids, r * per_round, per_round, expected_bonus=True)
            _set_workflows(False)
            without += _round(ids, r * per_round, per_round, expected_bonus=False)
        queries = (_queries(ids, True), _queries(ids, False))
        _set_workflows(True)
    finally:
        _use_database(previous)
    total = per_round * rounds
    print(f"preview, {CAMPAIGNS} running campaigns: {1000 * with_campaigns / total:.2f} ms CPU per preview")
    print(f"preview, Workflows off (checkout only):  {1000 * without / total:.2f} ms CPU per preview")
    print(f"ratio: {with_campaigns / without:.2f}x ({total} previews each, 5 items, {customers} customers)")
    print(f"queries per preview: {queries[0]} with the campaigns, {queries[1]} with Workflows off")
