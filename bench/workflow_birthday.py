"""A daily birthday workflow over every customer of the database (part of bench_workflows).

On the database in DATABASE_URL (the 1M-customer `bench1m`: a few thousand customers have their
birthday on a given day), a new On a date workflow (daily 00:00, pre-filter `birth_date` "this
day") is activated and run for today's occurrence by `workflows.tasks.run_scheduled`, until the
occurrence is done. Its graph stores nothing on the customers: a customer filter (status active,
answered from the row) and a Variable assign, so shared data stays as it was; every customer
still gets a logged run.

Prints: the pre-filter's selection of the day's customers (the same keyset chunks of 500 the
tick reads, primary keys only) against the same count in raw SQL, whether the plan uses the
expression index `customer_birth_month_day` (customers migration 0010), then the whole run:
customers visited (must equal the day's count: nobody else is loaded), runs, time and CPU.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.db import connection


def _graph():
    return {
        "nodes": [
            {
                "id": "trigger",
                "type": "date_trigger",
                "config": {
                    "repeat": "daily",
                    "time": "00:00",
                    "prefilter": {
                        "match": "all",
                        "conditions": [{"field": "birth_date", "operator": "this_day", "value": ""}],
                    },
                },
            },
            {
                "id": "active",
                "type": "filter_customer",
                "config": {
                    "conditions": {
                        "match": "all",
                        "conditions": [{"field": "status", "operator": "ne", "value": "opted_out"}],
                    }
                },
            },
            {
                "id": "wish",
                "type": "variable_assign",
                "config": {"name": "greeting", "value": "'happy birthday'"},
            },
        ],
        "edges": [
            {"from": "trigger", "output": "on", "to": "active"},
            {"from": "active", "output": "success", "to": "wish"},
        ],
    }


def run() -> None:
    from customers.choices import CustomerStatus
    from customers.models import Customer
    from loyalty import clock
    from loyalty.models import Program
    from segments import conditions as cond
    from workflows import editing, tasks
    from workflows.models import DateOccurrence, Workflow, WorkflowRun

    program = Program.current()
    if not program.workflows:
        program.workflows = True
        program.save()
    now = clock.now("live")
    tree = _graph()["nodes"][0]["config"]["prefilter"]
    customers = (
        Customer.objects.filter(environment="live", anonymized_at__isnull=True)
        .exclude(status=CustomerStatus.OPTED_OUT)
        .filter(cond.compile_tree(tree, ctx=cond.make_context(now)))
    )
    total = Customer.objects.filter(environment="live").order_by().values("pk").last()
    print(
        f" birthday workflow (daily, pre-filter birth_date this day), customers up to pk {total and total['pk']}"
    )
    # 1. The selection, as the tick reads it: keyset chunks of CHUNK by primary key.
    started, cpu = time.perf_counter(), time.process_time()
    cursor, selected = 0, 0
    while True:
        batch = list(
            customers.filter(pk__gt=cursor).order_by("pk").values_list("pk", flat=True)[: tasks.CHUNK]
        )
        selected += len(batch)
        if len(batch) < tasks.CHUNK:
            break
        cursor = batch[-1]
    select_s, select_cpu = time.perf_counter() - started, time.process_time() - cpu
    today = cond.make_context(now).today
    with connection.cursor() as raw:
        started = time.perf_counter()
        raw.execute(
            "SELECT count(*) FROM customers_customer WHERE environment = 'live' AND anonymized_at IS NULL "
            "AND status <> 'opted_out' AND EXTRACT(MONTH FROM birth_date) = %s AND EXTRACT(DAY FROM birth_date) = %s",
            [today.month, today.day],
        )
        raw_count, raw_s = raw.fetchone()[0], time.perf_counter() - started
        sql, params = customers.order_by("pk").values("pk")[: tasks.CHUNK].query.sql_with_params()
        raw.execute("EXPLAIN " + sql, params)
        plan = " / ".join(row[0].strip() for row in raw.fetchall())
    uses_index = "customer_birth_month_day" in plan
    print(
        f"  selection of {today:%m-%d}'s customers: {selected} in {select_s * 1000:.0f} ms "
        f"(CPU {select_cpu * 1000:.0f} ms; target <= 2000 ms); raw SQL count {raw_count} in "
        f"{raw_s * 1000:.0f} ms (ratio {select_s / max(raw_s, 1e-6):.1f}x); expression index used: {uses_index}"
    )
    if not uses_index:
        print(f"  plan: {plan[:400]}")
    # 2. The whole run of today's occurrence.
    workflow = Workflow.objects.create(name=f"bench birthday {time.time():.0f}", environment="live")
    editing.save_graph(workflow, _graph())
    editing.set_status(workflow, True)
    Workflow.objects.filter(pk=workflow.pk).update(activated_at=now - dt.timedelta(days=1))
    workflow.refresh_from_db()
    started, cpu = time.perf_counter(), time.process_time()
    walked = ticks = 0
    budget = float(os.environ.get("BENCH_BIRTHDAY_SECONDS", "900"))
    while time.perf_counter() - started < budget:
        walked += tasks.run_scheduled(workflow, time.monotonic())
        ticks += 1
        if DateOccurrence.objects.filter(workflow=workflow, done=True).exists():
            break
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    occurrence = DateOccurrence.objects.filter(workflow=workflow).first()
    runs = WorkflowRun.objects.filter(workflow=workflow)
    finished = runs.filter(status__in=("success", "no_action")).count()  # no action: stores nothing
    editing.set_status(workflow, False)
    print(
        f"  run of today's occurrence: {walked} runs ({finished} finished) in {elapsed:.1f} s, "
        f"{ticks} tick(s), CPU {used / max(walked, 1) * 1000:.1f} ms per customer; customers visited "
        f"{occurrence.visited if occurrence else 0} of {selected} selected (done: {bool(occurrence and occurrence.done)})"
    )
