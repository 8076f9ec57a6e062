"""Workflows: the modifier branch's cost on the event path (the workflows performance target).

An event that triggers three active workflows with filters on their modifier branch, against the
same event with no workflow, in the same run (rounds alternate, so machine drift hits both):
point_add through `register_event` for 300 customers, BENCH_WORKFLOW_EVENTS per round (default 400),
BENCH_REPEAT rounds (default 5). The three workflows on point_add:

1. Event attribute filter (points >= 1) -> Variable assign -> Variable filter (modifier branch);
2. Event attribute filter (an OR of two conditions) -> Modify event (reason, templated);
3. Customer attribute filter (country in DE, AT, HU: one indexed query) on the modifier branch,
   and an action branch (a label), so the event also queues its after-commit task (django-q2's
   broker: Redis with REDIS_URL, else the ORM queue table; the task itself is not run here).

Prints events/s and this process's CPU per event (time.process_time: the engine, the workflow
hook, the queueing) with the ratio to no workflows. The target: at most 1.20x CPU per event.
PostgreSQL: DATABASE_URL (its database is migrated and given the customers on first use).
"""

from __future__ import annotations

import os
import statistics
import time

from django.core.management import call_command
from django.db import connection, transaction

EVENTS = int(os.environ.get("BENCH_WORKFLOW_EVENTS", "400"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
CUSTOMERS = 300


def _graphs():
    def cond(*conditions, match="all"):
        return {
            "match": match,
            "conditions": [dict(zip(("field", "operator", "value"), c, strict=True)) for c in conditions],
        }

    trigger = {"id": "trigger", "type": "event_trigger", "config": {"action": "point_add"}}
    return [
        {
            "nodes": [
                trigger,
                {"id": "f", "type": "filter_event", "config": {"conditions": cond(("points", "ge", "1"))}},
                {
                    "id": "v",
                    "type": "variable_assign",
                    "config": {"name": "double", "value": "{event.points} * 2"},
                },
                {"id": "g", "type": "filter_variable", "config": {"conditions": cond(("double", "ge", "2"))}},
                {"id": "w", "type": "variable_assign", "config": {"name": "checked", "value": "1"}},
            ],
            "edges": [
                {"from": "trigger", "output": "modifier", "to": "f"},
                {"from": "f", "output": "success", "to": "v"},
                {"from": "v", "output": "success", "to": "g"},
                {"from": "g", "output": "success", "to": "w"},
            ],
        },
        {
            "nodes": [
                trigger,
                {
                    "id": "f",
                    "type": "filter_event",
                    "config": {
                        "conditions": cond(
                            ("points", "gt", "100000"), ("action", "eq", "point_add"), match="any"
                        )
                    },
                },
                {"id": "m", "type": "modify_event", "config": {"set": {"reason": "'bench ' ~ customer.id"}}},
            ],
            "edges": [
                {"from": "trigger", "output": "modifier", "to": "f"},
                {"from": "f", "output": "success", "to": "m"},
            ],
        },
        {
            "nodes": [
                trigger,
                {
                    "id": "c",
                    "type": "filter_customer",
                    "config": {"conditions": cond(("country", "in", "DE,AT,HU"))},
                },
                {"id": "w", "type": "variable_assign", "config": {"name": "region", "value": "'dach'"}},
                {"id": "l", "type": "add_label", "config": {"label": "bench"}},
            ],
            "edges": [
                {"from": "trigger", "output": "modifier", "to": "c"},
                {"from": "c", "output": "success", "to": "w"},
                {"from": "trigger", "output": "action", "to": "l"},
            ],
        },
    ]


def prepare():
    from events.engine import register_event
    from loyalty import configcache
    from loyalty.models import Program
    from workflows import editing
    from workflows.models import Workflow

    call_command("migrate", verbosity=0)
    program = Program.current()
    program.workflows = True
    program.save()
    existing = set(
        __import__("customers.models", fromlist=["Customer"])
        .Customer.objects.filter(customer_id__startswith="wfbench-")
        .values_list("customer_id", flat=True)
    )
    for number in range(CUSTOMERS):
        cid = f"wfbench-{number}"
        if cid not in existing:
            register_event(
                environment="live", customer=cid, action="opt_in", data={"country": ("DE", "GB")[number % 2]}
            )
    workflows = []
    for index, graph in enumerate(_graphs()):
        workflow, _ = Workflow.objects.get_or_create(name=f"bench workflow {index}", environment="live")
        editing.save_graph(workflow, graph)
        workflows.append(workflow)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    configcache.reset()
    return workflows


def _set(workflows, active: bool):
    from loyalty import configcache
    from workflows import editing

    for workflow in workflows:
        editing.set_status(workflow, active)
    configcache.reset()


def _engine_round() -> tuple[float, float]:
    from events.engine import register_event

    started_cpu, started = time.process_time(), time.perf_counter()
    for number in range(EVENTS):
        register_event(
            environment="live",
            customer=f"wfbench-{number % CUSTOMERS}",
            action="point_add",
            data={"points": 5},
        )
    return (time.process_time() - started_cpu) / EVENTS * 1000, EVENTS / (time.perf_counter() - started)


def _api_key():
    from loyalty.api.keys import create_api_key
    from loyalty.api.models import ApiKey

    ApiKey.objects.filter(name="workflow benchmark").delete()
    return create_api_key(name="workflow benchmark", environment="live", rate_limit=10_000_000)


def _api_round(key) -> tuple[float, float]:
    """POST /api/events, signed (before the clock starts), through Django's whole request path
    in this process (django.test.Client: middleware, authentication, the view, JSON)."""
    import json

    from django.test import Client

    from loyalty.api.auth import sign

    api_key, secret = key
    requests = []
    for number in range(EVENTS):
        body = json.dumps(
            {"customer": f"wfbench-{number % CUSTOMERS}", "action": "point_add", "data": {"points": 5}}
        )
        signed = sign("POST", "/api/events", key=api_key.key, secret=secret, host="testserver", body=body)
        headers = {f"HTTP_{n.upper()}": v for n, v in signed if n.lower() in ("authorization", "date")}
        requests.append((body, headers))
    client = Client(HTTP_HOST="testserver")
    started_cpu, started = time.process_time(), time.perf_counter()
    for body, headers in requests:
        response = client.post("/api/events", data=body, content_type="application/json", **headers)
        if response.status_code >= 300:
            raise RuntimeError(f"POST /api/events answered {response.status_code}: {response.content[:300]}")
    return (time.process_time() - started_cpu) / EVENTS * 1000, EVENTS / (time.perf_counter() - started)


def run() -> None:
    if connection.vendor != "postgresql":
        print("PostgreSQL only (set DATABASE_URL)")
        return
    from django.conf import settings

    settings.DEBUG = False  # as in production: no query log (it doubled the cost of every query)
    parts = os.environ.get("BENCH_WORKFLOW_PARTS", "modifier,actions,birthday").split(",")
    if "modifier" in parts:
        run_modifier()
    if "actions" in parts:
        from bench import workflow_actions

        workflow_actions.run()
    if "birthday" in parts:
        from bench import workflow_birthday

        workflow_birthday.run()


def run_modifier() -> None:
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    workflows = prepare()
    key = _api_key()
    # As in a server process (loyalty/wsgi.py): the start-up objects leave the collector's
    # generations, so a full collection (80–100 ms unfrozen) no longer lands on one round at random.
    from loyalty.wsgi import freeze_loaded_objects

    freeze_loaded_objects()
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    paths = {"engine": _engine_round, "api": lambda: _api_round(key)}
    results: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for active in (False, True):  # warm-up
        _set(workflows, active)
        for measure in paths.values():
            measure()
    for _ in range(REPEAT):
        for active in (False, True):
            _set(workflows, active)
            for name, measure in paths.items():
                results.setdefault((name, active), []).append(measure())
    _set(workflows, False)
    load = os.getloadavg()[0]
    print(
        f"point_add, {EVENTS} events x {REPEAT} rounds per path, queue broker: {broker}, "
        f"load average {load:.1f}"
    )
    for name, label in (("engine", "register_event"), ("api", "POST /api/events (signed)")):
        print(f" {label}")
        for active in (False, True):
            row = "3 workflows (modifier filters)" if active else "no workflows"
            cpus = ", ".join(f"{cpu:.2f}" for cpu, _ in results[(name, active)])
            rates = ", ".join(f"{rate:.0f}" for _, rate in results[(name, active)])
            print(f"  {row:32} CPU/event ms {cpus}   events/s {rates}")
        base = statistics.median(cpu for cpu, _ in results[(name, False)])
        with_wf = statistics.median(cpu for cpu, _ in results[(name, True)])
        target = " (target <= 1.20x)" if name == "api" else ""
        print(f"  CPU per event ratio (median): {with_wf / base:.2f}x{target}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_q_ormq WHERE key = %s", [settings.Q_CLUSTER["name"]])
