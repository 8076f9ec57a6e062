"""Row generation for `generate_load_data`: one customer's whole history, as the engine would
have written it (events, point lots consumed first-expiring-first, ledger entries, the balance,
the customer's totals, transactions), produced as text rows for `bulk_load.write`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from customers.models import Customer
from events.models import Event
from loyalty.ledger.expiration import expiration_for
from loyalty.models import LedgerEntry, PointAccount, PointBalance, PointLot
from loyalty.models.ledger import ExpirationRule, Rounding

from .bulk_load import MODELS, IdAllocator, Rows, Transaction, TransactionItem
from .people import COLORS, PRODUCTS, moved, person

LABELS = {
    "opt_in": "Opt-in",
    "profile": "Profile update",
    "login": "Login",
    "checkout": "Checkout",
    "point_add": "Point add",
    "point_spend": "Point spend",
    "point_expire": "Point expire",
}
# activity mix after the opt-in: (action, weight)
MIX = [("checkout", 30), ("point_add", 12), ("point_spend", 18), ("profile", 10), ("login", 30)]
SPEND_AMOUNTS = (100, 200, 200, 500, 500, 1000)
ADD_REASONS = ["Goodwill: late delivery", "Birthday bonus", "Survey completed", "Store event bonus"]
_TIMES = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
_EPOCH = dt.date(1970, 1, 1).toordinal()


@dataclass
class Plan:
    environment: str
    events_per_customer: int
    days: int
    seed: int
    account: PointAccount
    time_zone: str
    expiring: bool
    postgres: bool
    transactions: bool = True
    now: int = field(default_factory=lambda: int(dt.datetime.now(dt.UTC).timestamp()))


_EXPIRY_MEMO: dict[tuple, dict[int, int]] = {}


class Expiry:
    """Expiration timestamps (epoch seconds) of the account's rule, memoized per quarter hour."""

    def __init__(self, plan: Plan):

        self.fn = expiration_for
        self.plan = plan
        self.account = plan.account
        self.rule = plan.account.expiration_rule if plan.expiring else ExpirationRule.NONE
        # With rounding to a day or coarser the result depends only on the local quarter hour.
        self.memo = plan.account.expiration_rounding not in (Rounding.NONE, "")
        key = (
            plan.account.pk,
            plan.account.expiration_rule,
            plan.account.expiration_period,
            plan.account.expiration_unit,
            plan.account.expiration_date,
            plan.account.expiration_rounding,
            plan.time_zone,
        )
        # Kept across batches of one worker process: two years are only ~70,000 quarter hours.
        self.cache: dict[int, int] = _EXPIRY_MEMO.setdefault(key, {})

    @property
    def none(self) -> bool:
        return self.rule == ExpirationRule.NONE

    def at(self, ts: int) -> int | None:
        if self.none:
            return None
        key = ts // 900 if self.memo else ts
        value = self.cache.get(key)
        if value is None:
            moment = dt.datetime.fromtimestamp(ts, dt.UTC)
            expires = self.fn(self.account, moment, time_zone=self.plan.time_zone, enabled=True)
            value = int(expires.timestamp()) if expires else 0
            self.cache[key] = value
        return value or None


def generate(plan: Plan, first_number: int, count: int, ids: IdAllocator) -> Rows:
    rows = Rows()
    gen = _Generator(plan, ids, rows)
    for number in range(first_number, first_number + count):
        gen.customer(number)
    return rows


class _Generator:
    def __init__(self, plan: Plan, ids: IdAllocator, rows: Rows):
        self.plan, self.ids, self.rows = plan, ids, rows
        self.null = "\\N" if plan.postgres else None
        self.tz_suffix = "+00" if plan.postgres else ""
        self.days: dict[int, str] = {}
        self.expiry = Expiry(plan)
        self.account_id = str(plan.account.pk)
        self.account_code = plan.account.code
        self.dynamic = self.expiry.rule == ExpirationRule.DYNAMIC
        self.transactions = plan.transactions
        self.zone = ZoneInfo(plan.time_zone or "UTC")
        self.next_id = {model: ids.counter(model._meta.db_table) for model in MODELS}
        # one slot per weight unit: picking an action is one random() and one index
        self.action_slots = [action for action, weight in MIX for _ in range(weight)]

    def ts(self, value: int | None):
        if value is None:
            return self.null
        day, second = divmod(value, 86400)
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = dt.date.fromordinal(_EPOCH + day).isoformat()
        return f"{text} {_TIMES[second]}{self.tz_suffix}"

    def _local_date(self, value: int) -> str:
        return dt.datetime.fromtimestamp(value, self.zone).date().isoformat()

    def customer(self, number: int) -> None:
        plan, null = self.plan, self.null
        rng = random.Random(plan.seed * 1_000_003 + number)
        now = plan.now
        cid = str(self.next_id[Customer]())
        start = now - rng.randint(3600, plan.days * 86400)
        times = sorted(rng.randint(start + 60, now) for _ in range(plan.events_per_customer - 1))
        profile = person(rng, number, today=dt.date.today())
        state: dict[str, Any] = {
            "spendable": 0,
            "earned": 0,
            "spent": 0,
            "expired": 0,
            "purchase_total": 0.0,
            "purchase_count": 0,
            "purchase_items": 0,
            "purchase_last": None,
            "last_login": None,
        }
        next_event, next_lot, next_entry = (
            self.next_id[Event],
            self.next_id[PointLot],
            self.next_id[LedgerEntry],
        )
        lots: deque[list] = (
            deque()
        )  # active lots, first-expiring-first: [id, points, used, expired, expires, event]
        events: list[list] = []
        lot_rows: list[list] = []
        entries: list[tuple] = []
        checkouts: list[tuple] = []  # (event row, transaction ID, total, points, items)

        def event(action, when, data, points=0, expires=None, transaction_id="", source="api", reason=""):
            row = [next_event(), action, when, data, points, expires, transaction_id, source, reason]
            events.append(row)
            return row

        def entry(ev, lot_id, kind, amount, when):
            entries.append(
                (
                    str(next_entry()),
                    str(ev[0]),
                    cid,
                    self.account_id,
                    str(lot_id) if lot_id else null,
                    kind,
                    str(amount),
                    str(state["spendable"]),
                    self.ts(when),
                )
            )

        def earn(ev, points, when):
            expires = self.expiry.at(when)
            lot = [next_lot(), points, 0, 0, expires, ev, when]
            lots.append(lot)
            lot_rows.append(lot)
            ev[5] = expires
            state["spendable"] += points
            state["earned"] += points
            entry(ev, lot[0], "earn", points, when)

        def expire_due(until):
            # The nightly task: every active lot due by `until` expires, one event per due date.
            while lots and lots[0][4] is not None and lots[0][4] <= until:
                due = lots[0][4]
                group = []
                while lots and lots[0][4] == due:
                    group.append(lots.popleft())
                total = sum(lot[1] - lot[2] - lot[3] for lot in group)
                when = due + 1
                lot_ids = ", ".join(str(lot[0]) for lot in group)
                ev = event(
                    "point_expire",
                    when,
                    f'{{"points": {total}, "lots": [{lot_ids}]}}',
                    -total,
                    source="system",
                )
                for lot in group:
                    remaining = lot[1] - lot[2] - lot[3]
                    lot[3] += remaining
                    state["spendable"] -= remaining
                    state["expired"] += remaining
                    entry(ev, lot[0], "expire", -remaining, when)

        def push_dynamic(when):
            expires = self.expiry.at(when)
            for lot in lots:
                lot[4] = expires
                lot[5][5] = expires

        slots = self.action_slots
        n_slots = len(slots)
        data = json.dumps(profile, ensure_ascii=False)
        event("opt_in", start, data)
        extra: dict[str, Any] = {}
        if rng.random() < 0.5:
            extra["favorite_color"] = rng.choice(COLORS)
        if rng.random() < 0.3:
            extra["shoe_size"] = rng.randint(36, 46)
        if self.dynamic:
            push_dynamic(start)
        for when in times:
            expire_due(when)
            action = slots[int(rng.random() * n_slots)]
            if action == "point_spend" and state["spendable"] < 100:
                action = "checkout"
            if action == "checkout":
                tx = f"{cid}-{len(events)}"
                items = rng.sample(PRODUCTS, rng.choice((1, 1, 2, 3)))
                total = round(sum(p[3] for p in items), 2)
                points = int(total)
                item_json = ", ".join(
                    f'{{"product_id": "{p[0]}", "product_name": "{p[1]}", "product_category": "{p[2]}", '
                    f'"quantity": 1, "price": {p[3]}, "subtotal": {p[3]}}}'
                    for p in items
                )
                ev = event(
                    "checkout",
                    when,
                    f'{{"transaction_id": "{tx}", "total": {total}, "currency": "EUR", '
                    f'"items": [{item_json}]}}',
                    points,
                    transaction_id=tx,
                )
                earn(ev, points, when)
                checkouts.append((ev, tx, total, points, items))
                state["purchase_total"] += total
                state["purchase_count"] += 1
                state["purchase_items"] += len(items)
                state["purchase_last"] = when
            elif action == "point_add":
                points = rng.choice((50, 100, 200, 250, 500))
                reason = rng.choice(ADD_REASONS)
                ev = event(
                    "point_add", when, f'{{"points": {points}, "reason": "{reason}"}}', points, reason=reason
                )
                earn(ev, points, when)
            elif action == "point_spend":
                amount = min(rng.choice(SPEND_AMOUNTS), state["spendable"] // 100 * 100)
                ev = event(
                    "point_spend",
                    when,
                    f'{{"points": {amount}, "reason": "Reward redemption"}}',
                    -amount,
                    reason="Reward redemption",
                )
                left = amount
                while left:
                    lot = lots[0]
                    take = min(left, lot[1] - lot[2] - lot[3])
                    lot[2] += take
                    left -= take
                    state["spendable"] -= take
                    entry(ev, lot[0], "spend", -take, when)
                    if lot[1] - lot[2] - lot[3] == 0:
                        lots.popleft()
                state["spent"] += amount
            elif action == "profile":
                change = moved(rng)
                profile.update(change)
                event("profile", when, json.dumps(change, ensure_ascii=False))
            else:
                event("login", when, "{}")
                state["last_login"] = when
            if self.dynamic:
                push_dynamic(when)
        expire_due(now)
        last = max(times[-1] if times else start, events[-1][2])
        self._emit(cid, number, profile, extra, state, start, last, events, lot_rows, entries, lots)
        if checkouts and self.transactions:
            self._emit_transactions(cid, checkouts)

    def _emit_transactions(self, cid, checkouts):
        rows, env, ts = self.rows.tables, self.plan.environment, self.ts
        true, false = ("t", "f") if self.plan.postgres else ("1", "0")
        next_tx, next_item = self.next_id[Transaction], self.next_id[TransactionItem]
        for index, (ev, tx, total, points, items) in enumerate(checkouts):
            pk = str(next_tx())
            stamp = ts(ev[2])
            rows[Transaction].append(
                (
                    pk,
                    env,
                    tx,
                    cid,
                    self.account_id,
                    "accepted",
                    f"{total:.2f}",
                    "EUR",
                    str(points),
                    true,
                    true if index == 0 else false,
                    stamp,
                    stamp,
                    stamp,
                    stamp,
                    str(ev[0]),
                )
            )
            for line, (product_id, name, category, price) in enumerate(items):
                rows[TransactionItem].append(
                    (
                        str(next_item()),
                        pk,
                        str(line),
                        product_id,
                        name,
                        category,
                        "1",
                        f"{price:.2f}",
                        f"{price:.2f}",
                    )
                )

    def _emit(self, cid, number, profile, extra, state, start, last, events, lot_rows, entries, active):
        plan, rows, null, ts = self.plan, self.rows.tables, self.null, self.ts
        env = plan.environment
        rows[Customer].append(
            (
                cid,
                env,
                f"load-{number:09d}",
                "active",
                profile["first_name"],
                profile["last_name"],
                profile["email"],
                profile["birth_date"],
                profile["gender"],
                profile["language"],
                "EUR",
                profile["mobile_phone"],
                profile["country"],
                profile["city"],
                profile["zip"],
                profile.get("address", ""),
                json.dumps(extra),
                str(state["earned"]),
                str(state["spent"]),
                str(state["spendable"]),
                "0",
                "0",
                str(state["expired"]),
                f"{state['purchase_total']:.2f}",
                str(state["purchase_count"]),
                str(state["purchase_items"]),
                self._local_date(state["purchase_last"]) if state["purchase_last"] else null,
                ts(start),
                ts(state["last_login"]),
                ts(last),
                ts(start),
                ts(last),
            )
        )
        events_out = rows[Event]
        for eid, action, when, data, points, expires, tx, source, reason in events:
            stamp = ts(when)
            events_out.append(
                (
                    str(eid),
                    env,
                    cid,
                    action,
                    LABELS[action],
                    stamp,
                    stamp,
                    str(points),
                    self.account_id
                    if action in ("checkout", "point_add", "point_spend", "point_expire")
                    else null,
                    ts(expires),
                    tx,
                    data,
                    source,
                    reason,
                )
            )
        active_ids = {lot[0] for lot in active}
        lots_out = rows[PointLot]
        for lot_id, points, used, expired, expires, ev, created in lot_rows:
            status = "active" if lot_id in active_ids else ("expired" if expired else "exhausted")
            lots_out.append(
                (
                    str(lot_id),
                    cid,
                    self.account_id,
                    str(ev[0]),
                    str(points),
                    str(used),
                    str(expired),
                    status,
                    ts(expires),
                    ts(created),
                )
            )
        rows[LedgerEntry].extend(entries)
        rows[PointBalance].append(
            (
                str(self.next_id[PointBalance]()),
                cid,
                self.account_id,
                str(state["earned"]),
                str(state["spent"]),
                str(state["spendable"]),
                "0",
                "0",
                str(state["expired"]),
                ts(last),
            )
        )
