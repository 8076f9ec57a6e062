"""Two years of demo customer history for `seed_demo`, registered through the engine.

Each customer's life is planned first (deterministic random), then every step of every customer
is replayed in one global time order with the clock moved there (time-machine), so the scheduled
expiration task runs at the right moments and tiers qualify over the right twelve months. Nothing here
writes loyalty state directly: every change is `register_event(...)`.

Optional parts are guarded, so the seed works with whatever the program has so far: checkouts
when the `checkout` action and its handler exist, reward claims when rewards do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import importlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import time_machine
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

from coupons.models import Reward
from events import definitions
from events.choices import EventSource
from events.engine import HANDLERS, register_event
from events.models import Event
from loyalty.choices import Environment
from loyalty.demo.people import COLORS, basket, moved, person
from loyalty.errors import EngineError
from loyalty.models import PointBalance

HISTORY_DAYS = 730
REASONS_GOODWILL = ["Goodwill: late delivery", "Birthday bonus", "Survey completed", "Store event bonus"]


@dataclass(order=True)
class Step:
    when: dt.datetime
    seq: int
    environment: str = field(compare=False)
    customer: str = field(compare=False)
    action: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)
    account: str | None = field(compare=False, default=None)
    console: bool = field(compare=False, default=False)  # registered by the demo admin in the console


def has_action(action: str) -> bool:
    return action in definitions.BUILTIN_ACTIONS and action in HANDLERS


class Planner:
    """Plans each customer's steps; `steps` is a heap ordered by time."""

    def __init__(self, seed: int, now: dt.datetime):
        self.rng = random.Random(seed)
        self.now = now
        self.steps: list[Step] = []
        self._seq = 0
        self.checkout = has_action("checkout")
        self.rewards = demo_rewards() if has_action("reward") else []

    def add(self, when, environment, customer, action, data=None, **kwargs):
        self._seq += 1
        heapq.heappush(self.steps, Step(when, self._seq, environment, customer, action, data or {}, **kwargs))

    def customer(self, environment: str, number: int, customer_id: str, *, days: int, fate: str | None):
        rng, now = self.rng, self.now
        joined = now - dt.timedelta(days=rng.uniform(3, days), minutes=rng.randint(0, 600))
        profile = person(rng, number, today=now.date())
        if rng.random() < 0.6:
            profile["favorite_color"] = rng.choice(COLORS)
        if rng.random() < 0.7:
            profile["loyalty_barcode"] = f"{5990000000000 + number * 7919 % 10**9:013d}"
        if rng.random() < 0.5:
            profile["shoe_size"] = rng.choice((37, 38, 39, 40, 41, 42, 43, 44, 45))
        self.add(joined, environment, customer_id, "opt_in", profile)

        def later(start=joined, end=now):
            return start + (end - start) * rng.random()

        labels = []
        if rng.random() < 0.4:
            labels.append("newsletter")
        if rng.random() < 0.03:
            labels.append("staff")
        # Shoppers differ a lot: a few buy every week, most a handful of times a year.
        appetite = rng.choices((0.08, 0.25, 0.6, 1.6), weights=(35, 40, 18, 7))[0]
        vip = appetite == 1.6
        if vip:
            labels.append("vip")
        if labels:
            self.add(later(), environment, customer_id, "profile", {"labels": labels})
        if rng.random() < 0.3:
            self.add(
                joined + dt.timedelta(hours=rng.randint(1, 72)),
                environment,
                customer_id,
                "app_download",
                {"platform": rng.choice(("ios", "android"))},
            )

        months = (now - joined).days / 30.4
        for _ in range(min(40, int(months * appetite) + rng.randint(0, 1))):
            self.purchase(later(), environment, customer_id, number)
        if rng.random() < 0.5:
            self.add(later(), environment, customer_id, "login")
        if vip:  # status points, the second account: a half-year bonus for the best customers
            for quarter in range(int(months // 6)):
                self.add(
                    joined + dt.timedelta(days=91 * (quarter + 1)),
                    environment,
                    customer_id,
                    "point_add",
                    {"points": rng.choice((1000, 2000, 3000)), "reason": "Half-year VIP status bonus"},
                    account="status_points",
                )
        if rng.random() < 0.3:
            self.add(later(), environment, customer_id, "profile", moved(rng))
        if rng.random() < 0.25:
            self.add(
                later(),
                environment,
                customer_id,
                "review_written",
                {"product_id": "SNK-4001-WHT-42", "rating": rng.randint(3, 5)},
            )
        if rng.random() < 0.15:
            self.add(
                later(),
                environment,
                customer_id,
                "point_add",
                {"points": rng.choice((100, 200, 250, 500)), "reason": rng.choice(REASONS_GOODWILL)},
            )
        for _ in range(int(months * appetite / 2.5)):
            self.add(later(), environment, customer_id, "point_spend", {"reason": "Reward redemption"})

        if fate:
            when = now - dt.timedelta(days=rng.uniform(0.5, 20))
            reasons = {
                "suspend": "Suspicious activity: several accounts share one card",
                "ban": "Confirmed fraud: points bought on a reseller site",
                "opt_out": "Customer asked to leave the program",
            }
            self.add(
                when, environment, customer_id, fate, {"reason": reasons[fate]}, console=fate != "opt_out"
            )
            if fate == "suspend":  # shows a refused spend in the history
                self.add(
                    when + dt.timedelta(hours=5),
                    environment,
                    customer_id,
                    "point_spend",
                    {"reason": "Reward redemption"},
                )

    def purchase(self, when, environment, customer_id, number):
        rng = self.rng
        transaction_id = f"T{number:05d}-{when:%y%m%d%H%M%S}"
        total, items = basket(rng, transaction_id)
        if self.checkout:
            data = {"transaction_id": transaction_id, "total": total, "currency": "EUR", "items": items}
            self.add(when, environment, customer_id, "checkout", data)
        else:
            # Until checkouts exist, a purchase is a point_add of 1 point per EUR.
            self.add(
                when,
                environment,
                customer_id,
                "point_add",
                {
                    "points": int(total),
                    "reason": f"Purchase {transaction_id}",
                    "transaction_id": transaction_id,
                },
            )


def demo_rewards() -> list[Reward]:
    """The active rewards, cheapest first."""
    return list(Reward.objects.filter(active=True).order_by("points"))


def _expiration_runner() -> Callable[[], object] | None:
    """The ledger's scheduled expiration/activation task, when it exists."""
    try:
        tasks = importlib.import_module("loyalty.tasks")
    except ImportError:
        return None
    for name in ("expire_and_activate", "process_due_points", "expire_due_points"):
        runner = getattr(tasks, name, None)
        if callable(runner):
            return runner
    return None


def _spendable(environment, customer_id) -> int:
    """Spendable points of the default account (the Customer row sums every account)."""
    return (
        PointBalance.objects.filter(
            customer__environment=environment,
            customer__customer_id=customer_id,
            customer__anonymized_at__isnull=True,
            account__is_default=True,
        )
        .values_list("spendable", flat=True)
        .first()
    ) or 0


def _redemption(rng, rewards, spendable) -> tuple[str, dict] | None:
    """A reward claim the customer can afford, or a plain point_spend in round hundreds."""
    affordable = [reward for reward in rewards if reward.points <= spendable]
    if affordable and rng.random() < 0.7:
        return "reward", {"reward": str(rng.choice(affordable).pk)}
    if spendable < 200:
        return None
    # 100 points = 1 EUR (the default account's burn rate): discounts come in round amounts.
    return "point_spend", {
        "points": min(spendable // 100 * 100, rng.choice((200, 500, 500, 1000))),
        "reason": "Discount at checkout",
    }


def seed_history(*, live: int, sandbox: int, seed: int, admin, log=None) -> dict:
    """Plan and replay the demo customers' history. Returns counts."""
    now = timezone.now().replace(microsecond=0)
    planner = Planner(seed, now)
    fates = {}
    if live >= 10:
        picks = random.Random(seed + 1).sample(range(live), 6)
        fates = dict(zip(picks, ("suspend", "suspend", "suspend", "ban", "opt_out", "opt_out"), strict=True))
    for index in range(live):
        planner.customer(
            Environment.LIVE, index + 1, f"C{100001 + index}", days=HISTORY_DAYS, fate=fates.get(index)
        )
    for index in range(sandbox):
        planner.customer(Environment.SANDBOX, 90001 + index, f"test-{index + 1:03d}", days=60, fate=None)

    events_before = Event.objects.count()
    runner = _expiration_runner()
    rng = random.Random(seed + 2)
    first = planner.steps[0].when if planner.steps else now
    task_log = logging.getLogger("loyalty.tasks")
    level = task_log.level
    task_log.setLevel(logging.WARNING)  # a line per monthly run would drown the summary
    try:
        refused = _replay(planner, runner, rng, admin, log, first, now)
    finally:
        task_log.setLevel(level)
    return {
        "customers": live + sandbox,
        "events": Event.objects.count() - events_before,
        "refused": refused,
    }


class _TimelessCache(LocMemCache):
    """A local-memory cache whose entries never expire. Moving the clock hours or days between
    events would expire every cached program, account and catalog entry each time, and the
    configuration does not change while the history is replayed."""

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        return None


@contextlib.contextmanager
def _timeless_cache():
    """Only the process-local cache reads the (moved) clock; Redis expires entries in real time
    and is shared with the task queue, so it is left alone."""
    original = caches["default"]
    if not isinstance(original, LocMemCache):
        yield
        return
    caches["default"] = _TimelessCache("seed-demo", {})
    try:
        yield
    finally:
        caches["default"] = original
        original.clear()  # this process's entries only: nothing cached before the seed may outlive it


def _replay(planner, runner, rng, admin, log, first, now) -> int:
    refused = 0
    last_month = None
    with _timeless_cache(), time_machine.travel(first, tick=False) as traveller:
        while planner.steps:
            step = heapq.heappop(planner.steps)
            traveller.move_to(step.when)
            month = (step.when.year, step.when.month)
            if runner is not None and month != last_month:
                # The scheduled task. Points expire at month ends (the demo account rounds to
                # the end of the month), so running it as each month begins expires them on time.
                runner()
                last_month = month
            action, data = step.action, dict(step.data)
            if action == "point_spend":
                redemption = _redemption(rng, planner.rewards, _spendable(step.environment, step.customer))
                if redemption is None:
                    continue
                action, data = redemption
            try:
                register_event(
                    environment=step.environment,
                    customer=step.customer,
                    action=action,
                    data=data,
                    account=step.account,
                    source=EventSource.PLATFORM if step.console else EventSource.API,
                    admin_user=admin if step.console else None,
                    reason=data.get("reason", "") if step.console else "",
                    effective_timestamp=step.when,
                )
            except EngineError as error:
                refused += 1
                if log:
                    log(f"  refused {action} for {step.customer}: {error.message}")
        if runner is not None:
            traveller.move_to(now)
            runner()
    return refused
