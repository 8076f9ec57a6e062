"""Workflows: the modifier branch's cost on the event path (the workflows performance target).

An event that triggers three active workflows with filters on their modifier branch, against the
same event with no workflow, in the same run (rounds alternate, so machine drift hits both):
point_add through `register_event` for 300 customers, BENCH_WORKFLOW_EVENTS per round (default 400),
BENCH_REPEAT rounds (default 3). The three workflows on point_add:

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
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
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


def _round() -> tuple[float, float]:
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


def run() -> None:
    if connection.vendor != "postgresql":
        print("PostgreSQL only (set DATABASE_URL)")
        return
    from django.conf import settings

    workflows = prepare()
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for active in (False, True):  # warm-up
        _set(workflows, active)
        _round()
    for _ in range(REPEAT):
        for active in (False, True):
            _set(workflows, active)
            results[active].append(_round())
    _set(workflows, False)
    base = statistics.median(cpu for cpu, _ in results[False])
    with_wf = statistics.median(cpu for cpu, _ in results[True])
    print(f"point_add through register_event, {EVENTS} events x {REPEAT} rounds, queue broker: {broker}")
    for active in (False, True):
        label = "3 workflows (modifier filters)" if active else "no workflows"
        cpus = [f"{cpu:.2f}" for cpu, _ in results[active]]
        rates = [f"{rate:.0f}" for _, rate in results[active]]
        print(f"  {label:32} CPU/event ms {', '.join(cpus)}   events/s {', '.join(rates)}")
    print(f"  CPU per event ratio (median): {with_wf / base:.2f}x (target <= 1.20x)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_q_ormq WHERE key = %s", [settings.Q_CLUSTER["name"]])
