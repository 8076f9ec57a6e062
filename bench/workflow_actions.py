"""Post-commit actions on django-q2 (part of bench_workflows): action events per second with two
workers, against registering the same events directly with two processes.

1. **direct**: 2 processes register BENCH_ACTION_EVENTS `point_add` (1 point) events through
   `register_event` between them (the benchmark's customers, round robin).
2. **workflow**: a workflow on `login` whose action branch is a Point add (1 point). The same number
   of logins are registered with no cluster running: each writes its outbox row with the event
   (workflows.outbox), and their commits queue two drain tasks in Redis between them (one per
   worker slot; the others find both slots taken). Then `manage.py qcluster` starts with
   Q_WORKERS=2: each worker's drain claims batches of rows and walks one run per row (the run
   row, its steps, the point_add through register_event with the step in its transaction), until
   the outbox is empty. Action events/s = events / (last action event's registration - first
   one's), so the cluster's start-up is not counted; the wall time from start to the last event
   is shown too.

Redis: REDIS_URL (required; give the benchmark a Redis database of its own, e.g.
redis://127.0.0.1:6379/11: the cluster's queue there is emptied first). Targets: >= 300 action
events/s, and within 2x of direct registration (the ratio matters on a shared machine). Run it as
production runs, with DEBUG=false (and a SECRET_KEY: the cluster's processes inherit both): with
DEBUG on every statement is also formatted into Django's query log, on both sides. With the
outbox a worker runs a few drain tasks, not one per event, so BENCH_ACTION_EVENTS can be a few
thousand (3,000: a 4-5 s window, steadier ratios than 1,000's 1.5 s); django-q2 replaces a worker
after 500 tasks (its `recycle`), and a replaced worker's CPU leaves /proc, so the cluster CPU
figure would miss it (the benchmark says so when that happens).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_ACTION_EVENTS", "600"))
CUSTOMERS = 300

DIRECT = r"""
import sys, time, django
django.setup()
from events.engine import register_event
offset, count = int(sys.argv[1]), int(sys.argv[2])
started = time.process_time()
for number in range(offset, offset + count):
    register_event(environment="live", customer=f"wfbench-{number %% %(customers)d}", action="point_add",
                   data={"points": 1}, reason="bench direct")
print(time.process_time() - started)
"""


def _env() -> dict:
    env = dict(os.environ)
    # The same settings as this process (its SECRET_KEY signs the queued tasks), two workers.
    env.update({"Q_WORKERS": "2", "PYTHONPATH": str(ROOT)})
    return env


def _group_cpu(group: int) -> float:
    """CPU seconds (user + system) used so far by the processes of a process group (the cluster:
    its sentinel, pusher, monitor and workers), from /proc (Linux; 0.0 elsewhere)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields after the name: state, ppid, pgrp, ..., utime (11), stime (12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _direct() -> tuple[float, float]:
    """(events/s between the first and the last direct event's registration, as the workflow's
    figure: the processes' start-up is not counted; CPU ms per event of their loops)."""
    from django.db.models import Count, Max, Min

    from events.models import Event
    from loyalty import clock

    env = _env()
    half = EVENTS // 2
    marker = clock.now()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DIRECT % {"customers": CUSTOMERS}, str(i * half), str(half)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    cpu = 0.0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError("a direct registration process failed")
        cpu += float(out.strip().splitlines()[-1])
    made = Event.objects.filter(reason="bench direct", timestamp__gte=marker)
    span = made.aggregate(first=Min("timestamp"), last=Max("timestamp"), n=Count("id"))
    rate = (span["n"] - 1) / max((span["last"] - span["first"]).total_seconds(), 1e-6)
    return rate, cpu / max(span["n"], 1) * 1000


def _graph():
    return {
        "nodes": [
            {"id": "trigger", "type": "event_trigger", "config": {"action": "login"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 1, "reason": "bench action"}},
        ],
        "edges": [{"from": "trigger", "output": "action", "to": "bonus"}],
    }


def run() -> None:
    import redis
    from django.conf import settings
    from django.db.models import Max, Min

    from bench import bench_workflows
    from events.engine import register_event
    from events.models import Event
    from loyalty import configcache
    from workflows import editing, outbox
    from workflows.models import Workflow

    if not settings.REDIS_URL:
        print(" post-commit actions: set REDIS_URL (a Redis database of its own)")
        return
    queue = f"django_q:{settings.Q_CLUSTER['name']}:q"
    bench_workflows.prepare()
    for other in Workflow.objects.filter(name__startswith="bench workflow "):
        editing.set_status(other, False)
    print(f" post-commit actions: {EVENTS} action events, 2 django-q2 workers, Redis {settings.REDIS_URL}")
    print(f"  load average before: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"  DEBUG {'on (set DEBUG=false to measure as production runs)' if settings.DEBUG else 'off'}")
    direct, direct_cpu = _direct()
    print(
        f"  direct register_event, 2 processes:      {direct:7.0f} events/s, {direct_cpu:.2f} ms CPU per event"
    )

    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.delete(queue)
    # Drain slots a killed earlier run may have left taken (they would hold off the drains).
    outbox.clear_slots()
    workflow = Workflow.objects.create(name=f"bench actions {time.time():.0f}", environment="live")
    editing.save_graph(workflow, _graph())
    editing.set_status(workflow, True)
    configcache.reset()
    for number in range(EVENTS):
        register_event(environment="live", customer=f"wfbench-{number % CUSTOMERS}", action="login", data={})
    queued = connection.llen(queue)
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    made = Event.objects.filter(workflow_id=workflow.pk, action="point_add")
    cpu_first = cpu_last = None
    try:
        deadline = started + float(os.environ.get("BENCH_ACTIONS_SECONDS", "600"))
        while (done := made.count()) < EVENTS and time.perf_counter() < deadline:
            if cpu_first is None and done:
                cpu_first, done_first = _group_cpu(cluster.pid), done
            time.sleep(0.2)
        cpu_last = _group_cpu(cluster.pid)
        wall = time.perf_counter() - started
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)
        editing.set_status(workflow, False)
    span = made.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    count = made.count()
    seconds = (span["last"] - span["first"]).total_seconds() if count > 1 else float("inf")
    rate = (count - 1) / seconds if count > 1 else 0.0
    print(
        f"  workflow action branch, 2 workers:       {rate:7.0f} action events/s "
        f"({count} of {EVENTS} made, {queued} tasks queued for them; {wall:.1f} s wall incl. start-up)"
    )
    if queued > 2 * 500:
        print("  (more than 1000 tasks: django-q2 recycled workers, the CPU figure below misses theirs)")
    if cpu_first is not None and cpu_last is not None and count > done_first:
        # The whole cluster (workers, pusher, monitor, sentinel) while it made these events.
        per_event = (cpu_last - cpu_first) / (count - done_first) * 1000
        print(
            f"  cluster CPU per action event:            {per_event:7.2f} ms "
            f"({per_event / max(direct_cpu, 1e-9):.2f}x direct's)"
        )
    print(f"  ratio direct / workflow: {direct / max(rate, 1e-9):.2f}x (target <= 2x; >= 300 events/s)")
    print(f"  load average after: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
