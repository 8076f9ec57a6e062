"""What budgets and achievements cost an event, measured in one run.

Five configurations, their rounds alternating so all see the same machine load, each registering
`point_add` events through register_event in-process (1 process, its own customers):

  off         the budgets and achievements modules off;
  untouched   modules on, one active budget (coupon redemptions) and one achievement (logins):
              neither counts point_add: this must cost nothing;
  budget      as untouched, plus a budget on points awarded (the event touches a budget);
  achievement as untouched, plus an achievement counting point_add events;
  touched     both: the event touches a budget and an achievement.
The target: at most +10 % CPU for an event that touches them.

Client CPU (time.process_time: Python, Django, the driver) and wall time per event are printed
with the ratios to `off`. Steady state: an untimed first round gives every customer its budget
counter and achievement run (the first counted event of a customer inserts them). Because the
machine's speed drifts (other processes share its cores), the CPU spent inside the engine's
hooks themselves (events.engine.count_profile_features and settle_profile_features, timed around
each call) is printed too, as a share of the same events' CPU: the cost of the features measured
in the very same events.
PostgreSQL only, in the benchmark database (`bench_loyalty`, BENCH_DB).
Knobs: BENCH_EVENTS (per configuration, default 3000), BENCH_ROUNDS (default 6).
"""

from __future__ import annotations

import os
import time
import uuid

from django.conf import settings
from django.core.management import call_command

from bench.bench_engine import _ensure_database, _use_database, _vacuum

CONFIGS = ("off", "untouched", "budget", "achievement", "touched")


def _configure(kind: str, objects: dict) -> None:
    from loyalty.models import Program

    program = Program.objects.order_by("pk").first()
    program.budgets = program.achievements = kind != "off"
    program.save()
    budget = kind in ("budget", "touched")
    achievement = kind in ("achievement", "touched")
    for key, active in (("budget_touch", budget), ("achievement_touch", achievement)):
        objects[key].active = active
        objects[key].save()
    for key in ("budget_other", "achievement_other"):
        objects[key].active = kind != "off"
        objects[key].save()


def _setup() -> dict:
    from achievements.models import Achievement
    from budgets.models import Budget

    tag = uuid.uuid4().hex[:6]
    return {
        "budget_touch": Budget.objects.create(campaign=f"bench-{tag}", action="points_awarded", limit=10**15),
        "budget_other": Budget.objects.create(campaign=f"bench-{tag}", action="coupon_redemptions", limit=10),
        "achievement_touch": Achievement.objects.create(
            api_name=f"bench_touch_{tag}", title="bench", counts="events", action="point_add", target=10**9
        ),
        "achievement_other": Achievement.objects.create(
            api_name=f"bench_other_{tag}", title="bench", counts="events", action="login", target=10
        ),
    }


class _HookTimer:
    """Accumulates the CPU spent in events.engine.count_profile_features and
    settle_profile_features (the budgets' and achievements' work of an event; the engine looks
    the functions up at each call, so wrapping the module attributes times every call). Their
    statements ride with the customer's UPDATE (one round trip the event sends anyway): the
    parameters they add to it are not in the hook's share, only in the CPU ratio to `off`."""

    def __init__(self):
        from events import engine

        self.cpu = 0.0
        self.targets = [(engine, "count_profile_features"), (engine, "settle_profile_features")]
        self.originals = [getattr(module, name) for module, name in self.targets]

    def __enter__(self):
        for (module, name), original in zip(self.targets, self.originals, strict=True):
            setattr(module, name, self._timed(original))
        return self

    def __exit__(self, *exc):
        for (module, name), original in zip(self.targets, self.originals, strict=True):
            setattr(module, name, original)

    def _timed(self, function):
        def timed(*args):
            began = time.process_time()
            try:
                return function(*args)
            finally:
                self.cpu += time.process_time() - began

        return timed


def _events(ids, count: int) -> tuple[float, float]:
    from events.engine import register_event

    cpu, began = time.process_time(), time.perf_counter()
    for i in range(count):
        register_event(
            environment="live", customer=ids[i % len(ids)], action="point_add", data={"points": 10}
        )
    return time.perf_counter() - began, time.process_time() - cpu


def run() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_profile: needs PostgreSQL (set DATABASE_URL); skipped")
        return
    settings.DEBUG = False
    name = os.environ.get("BENCH_DB", "bench_loyalty")
    n = int(os.environ.get("BENCH_EVENTS", "3000"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "6"))
    _ensure_database(name)
    previous = _use_database(name)
    try:
        call_command("migrate", verbosity=0, interactive=False)
        from events.engine import register_event

        prefix = uuid.uuid4().hex[:8]
        ids = {kind: [f"p{prefix}-{kind}-{i}" for i in range(100)] for kind in CONFIGS}
        for kind in CONFIGS:
            for customer_id in ids[kind]:
                register_event(environment="live", customer=customer_id, action="opt_in", data={})
        objects = _setup()
        _vacuum(name)
        totals = {kind: [0.0, 0.0] for kind in CONFIGS}
        hooks = {kind: 0.0 for kind in CONFIGS}
        per_round = max(1, n // rounds)
        for kind in CONFIGS:  # untimed: every customer gets its counter and run (steady state)
            _configure(kind, objects)
            _events(ids[kind], len(ids[kind]))
        for _ in range(rounds):
            for kind in CONFIGS:
                _configure(kind, objects)
                _events(ids[kind], 20)  # warm the configuration cache after the switch (not timed)
                with _HookTimer() as timer:
                    wall, cpu = _events(ids[kind], per_round)
                totals[kind][0] += wall
                totals[kind][1] += cpu
                hooks[kind] += timer.cpu
        for value in objects.values():  # leave the benchmark database as it was
            value.active = False
            value.save()
    finally:
        _use_database(previous)
    events = per_round * rounds
    base_wall, base_cpu = totals["off"]
    load = os.getloadavg()
    print(
        f"point_add, {events} events per configuration, 1 process, DEBUG off; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    for kind in CONFIGS:
        wall, cpu = totals[kind]
        hook = hooks[kind]
        print(
            f"  {kind:11s}: CPU {cpu / events * 1000:.3f} ms/event ({cpu / base_cpu:.2f}x off),"
            f" wall {wall / events * 1000:.3f} ms/event ({wall / base_wall:.2f}x off);"
            f" in the budget/achievement hooks {hook / events * 1000:.3f} ms/event"
            f" (+{hook / max(cpu - hook, 1e-9) * 100:.1f} % of the rest of the event)"
        )
    print(
        "  targets: untouched ~1.00x (nothing added), budget / achievement / touched <= 1.10x CPU"
        " (hooks <= +10 %)"
    )
