"""Demo workflows for `seed_demo` (issue list in docs/workflows.md, "Demo"): a welcome bonus, a
weekend double-points campaign with caps, a birthday coupon, a gold-tier reward, a fraud check and
the under-18 Interrupt, each active, then a little run history made through the engine.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from coupons import pools
from coupons.models import CouponPool
from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from loyalty import clock
from loyalty.errors import EngineError
from loyalty.models import Program

from . import editing, tasks
from .models import Campaign, Workflow


def _graph(trigger: dict, nodes: list[dict], edges: list[tuple[str, str, str]]) -> dict:
    return {
        "nodes": [{"id": "trigger", "x": 40, "y": 120, **trigger}, *nodes],
        "edges": [{"from": a, "output": o, "to": b} for a, o, b in edges],
    }


def _cond(field, operator, value=""):
    return {"match": "all", "conditions": [{"field": field, "operator": operator, "value": value}]}


def demo_graphs(pool_id: int) -> list[tuple[str, str, bool, dict]]:
    """(name, description, in the campaign, graph) of each demo workflow."""
    return [
        (
            "Welcome bonus",
            "100 points for every new member.",
            False,
            _graph(
                {"type": "event_trigger", "config": {"action": "opt_in"}},
                [
                    {
                        "id": "bonus",
                        "type": "point_add",
                        "config": {"points": 100, "reason": "Welcome bonus"},
                        "x": 300,
                        "y": 160,
                    }
                ],
                [("trigger", "action", "bonus")],
            ),
        ),
        (
            "Weekend double points",
            "Every point earned on the weekend again as a campaign bonus, within the campaign's caps.",
            True,
            _graph(
                {"type": "event_trigger", "config": {"action": "point_add"}},
                [
                    {
                        "id": "weekend",
                        "type": "variable_assign",
                        "config": {"name": "weekday", "value": "now.weekday()"},
                        "x": 300,
                        "y": 160,
                    },
                    {
                        "id": "is_weekend",
                        "type": "filter_variable",
                        "config": {"conditions": _cond("weekday", "ge", "5")},
                        "x": 560,
                        "y": 160,
                    },
                    {
                        "id": "double",
                        "type": "campaign_bonus",
                        "config": {"points": "{event.points}", "description": "Weekend double points"},
                        "x": 820,
                        "y": 160,
                    },
                ],
                [
                    ("trigger", "action", "weekend"),
                    ("weekend", "success", "is_weekend"),
                    ("is_weekend", "success", "double"),
                ],
            ),
        ),
        (
            "Birthday coupon",
            "Every day at 7:00, a coupon for the customers whose birthday it is.",
            False,
            _graph(
                {
                    "type": "date_trigger",
                    "config": {
                        "repeat": "daily",
                        "time": "07:00",
                        "prefilter": _cond("birth_date", "this_day"),
                    },
                },
                [
                    {
                        "id": "gift",
                        "type": "assign_coupon",
                        "config": {"pool": pool_id, "pattern": "BDAY-????"},
                        "x": 300,
                        "y": 160,
                    }
                ],
                [("trigger", "on", "gift")],
            ),
        ),
        (
            "Gold tier reward",
            "500 points when a customer reaches Gold.",
            False,
            _graph(
                {"type": "event_trigger", "config": {"action": "tier_up"}},
                [
                    {
                        "id": "gold",
                        "type": "filter_event",
                        "config": {"conditions": _cond("tier", "eq", "gold")},
                        "x": 300,
                        "y": 160,
                    },
                    {
                        "id": "reward",
                        "type": "point_add",
                        "config": {"points": 500, "reason": "Welcome to Gold"},
                        "x": 560,
                        "y": 160,
                    },
                ],
                [("trigger", "action", "gold"), ("gold", "success", "reward")],
            ),
        ),
        (
            "Fraud check",
            "Suspends a customer who earns 20,000 points or more in one day.",
            False,
            _graph(
                {"type": "event_trigger", "config": {"action": "point_add"}},
                [
                    {
                        "id": "too_much",
                        "type": "filter_aggregate",
                        "config": {"period": "today", "operator": "ge", "threshold": 20000},
                        "x": 300,
                        "y": 160,
                    },
                    {
                        "id": "suspend",
                        "type": "suspend",
                        "config": {"reason": "Fraud check: 20,000 points or more in one day"},
                        "x": 560,
                        "y": 160,
                    },
                ],
                [("trigger", "action", "too_much"), ("too_much", "success", "suspend")],
            ),
        ),
        (
            "Under-18 opt-in refused",
            "Refuses an opt-in whose birth date makes the customer younger than 18.",
            False,
            _graph(
                {"type": "event_trigger", "config": {"action": "opt_in"}},
                [
                    {
                        "id": "age",
                        "type": "variable_assign",
                        "config": {
                            "name": "age",
                            "value": "now.year - (event.birth_date|default('1900')|string)[:4]|int",
                        },
                        "x": 300,
                        "y": 40,
                    },
                    {
                        "id": "minor",
                        "type": "filter_variable",
                        "config": {"conditions": _cond("age", "lt", "18")},
                        "x": 560,
                        "y": 40,
                    },
                    {
                        "id": "stop",
                        "type": "interrupt",
                        "config": {"code": 12345, "message": "Members must be 18 or older."},
                        "x": 820,
                        "y": 40,
                    },
                ],
                [("trigger", "modifier", "age"), ("age", "success", "minor"), ("minor", "success", "stop")],
            ),
        ),
    ]


def seed_workflows(admin, *, environment: str = "live") -> dict:
    """Create the demo workflows (idempotent by name), activate them, and make some run history."""
    program = Program.objects.order_by("pk").first()
    program.workflows = True
    program.save()
    now = clock.now(environment)
    pool, created = CouponPool.objects.get_or_create(name="Birthday gifts", defaults={"value": 10})
    if created:
        pools.generate_codes(pool, 20, "GIFT-????")
    campaign, _ = Campaign.objects.get_or_create(
        name="Weekend double points",
        environment=environment,
        defaults={
            "description": "Double points on Saturdays and Sundays.",
            "starts_at": now - dt.timedelta(days=30),
            "ends_at": now + dt.timedelta(days=60),
            "max_bonus_points": 50_000,
            "max_customer_points": 500,
            "limit_behavior": "dynamic",
        },
    )
    made = []
    for priority, (name, description, in_campaign, graph) in enumerate(demo_graphs(pool.pk), start=1):
        workflow, _ = Workflow.objects.get_or_create(
            name=name,
            environment=environment,
            defaults={
                "description": description,
                "priority": priority * 10,
                "campaign": campaign if in_campaign else None,
            },
        )
        editing.save_graph(workflow, graph, admin)
        editing.set_status(workflow, True)
        made.append(workflow)
    return {"workflows": len(made), "runs": seed_runs(environment)}


def seed_runs(environment: str) -> int:
    """A little history: a few point events and opt-ins through the engine, their workflows run now."""
    customers = list(Customer.objects.filter(environment=environment, status="active").order_by("pk")[:6])
    events = []
    for number, customer in enumerate(customers):
        try:
            with transaction.atomic():
                events.append(
                    register_event(
                        environment=environment,
                        customer=customer,
                        action="point_add",
                        data={"points": 50 * (number + 1)},
                        source=EventSource.PLATFORM,
                        reason="Demo: goodwill points",
                    ).event
                )
        except EngineError:
            continue
    try:  # an opt-in under 18: the Interrupt refuses it (nothing stored), its run is logged
        register_event(
            environment=environment,
            customer="demo-teen",
            action="opt_in",
            data={"first_name": "Demo", "birth_date": "2015-05-01"},
            source=EventSource.PLATFORM,
        )
    except EngineError:
        pass
    # The queued action branches would run on the cluster; run them here so the history is there.
    return tasks.run_for_events(environment, [event.pk for event in events])
