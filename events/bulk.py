"""Register a chunk of events for many customers with batched SQL: `register_events`.

    events.batch.register_batch (imports, anything that applies many rows)
        -> register_events(environment=, items=[BatchItem], source=, admin_user=, reason=)
            per item: engine.check_call                           (register_event's own checks)
            runs of consecutive batchable items (BATCHED below):
                lock the run's customers in one query, in primary-key order    (SELECT ... FOR UPDATE)
                lock their balance rows in one query, tier rows in one more
                apply each item in memory with the engine's own functions   (attributes, statuses,
                    the ledger's figures); a refused item restores what it changed and stores nothing
                write the run: new customers, events, lots, ledger entries, balance rows in
                    multi-row INSERTs (bulk_create), changed customers and balances in one
                    executemany per set of columns (psycopg pipelines it: one round trip)
            any other item: register_event in a savepoint, in its place in the order
        <- [BatchOutcome(index, result | None, error | None)], in the items' order

BATCHED: `opt_in`, `profile` and `point_add` (the two hot rows of imports). An item of them
still goes through `register_event` (one by one, in order) when something the engine would do for
it needs the database per row:

- its customer is named by an external ID (`field:value`) or a Customer instance: the run ends
  there, so rows of one customer never change order;
- opt_in / profile carrying `password`, `confirm_password`, `referral_code`, `labels`, `referrer`
  or an external-ID custom field (hashing, referral redemption, label and ExternalId rows);
- point_add with `activation_date`, `expiration_date`, `reward_start`, `reward_expiration`,
  `subledger` or `create_subledger` (pending lots, subledger accounts);
- point_add while tier structures exist (tiers.evaluate reads the ledger and writes tier rows);
- opt_in while guest transactions wait under the run's customer IDs or e-mails (claimed at opt-in);
- an unknown customer ID that is invalid or reserved, or whose first item does not create the
  customer (opt_in, or any creating action with anonymous registration on), or a customer whose
  tier or manual lock ended (re-evaluated first): the run is written up to that customer's item,
  which goes one by one, and a new run starts after it (events keep the items' order);
- everything, when an active workflow listens in the environment, an active budget exists, an
  active achievement counts the action, or a point account has dynamic expiration.

What is stored is what `register_event` stores for each item (tests/events/test_bulk_property.py
registers random sequences both ways on both databases and compares every row). Webhooks are
queued per event as the engine queues them (on commit). One call is one transaction (the caller's
when inside one); an IntegrityError while writing a run (a concurrent import created the same new
customer) rolls that run back to its savepoint and applies its items one by one instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, connections, models, transaction

from achievements import progress as achievements
from budgets import enforcement as budgets
from customers import lifecycle
from customers.attributes import apply_attributes, missing_required_fields
from customers.choices import CustomerStatus
from customers.fields import custom_fields
from customers.models import ANONYMIZED_PREFIX, Customer
from loyalty import clock, fastsql, tiers
from loyalty.context import EventResult, HandlerContext
from loyalty.errors import CustomerNotFound, EngineError, MissingParameter, StatusForbids
from loyalty.jsonable import jsonable
from loyalty.ledger import operations as ledger
from loyalty.ledger.accounts import all_accounts
from loyalty.models import CustomerTier, LedgerEntry, PointBalance, PointLot, Program
from loyalty.models.ledger import EntryKind, LotStatus
from transactions.models import Transaction
from webhooks import delivery as webhooks
from workflows import triggers as workflow_triggers

from . import catalog, engine
from .models import Event

BATCHED = ("opt_in", "profile", "point_add")
PROFILE_PER_ROW = {"password", "confirm_password", "referral_code", "labels", "referrer"}
POINT_ADD_PER_ROW = {
    "activation_date",
    "expiration_date",
    "reward_start",
    "reward_expiration",
    "subledger",
    "create_subledger",
}
CUSTOMER_COLUMNS = tuple(name for name, _ in engine._CUSTOMER_FIELDS)
# A customer's column values as a tuple, from the instance dict (engine._field_values' order).
_CUSTOMER_VALUES = operator.itemgetter(*(attname for _, attname in engine._CUSTOMER_FIELDS))


@dataclass
class Outcome:
    """The fate of item `index`: `result` when registered, `error` when refused (nothing stored)."""

    index: int
    result: EventResult | None = None
    error: EngineError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Item:
    index: int
    item: object  # events.batch.BatchItem
    call: engine.CheckedCall


@dataclass
class _Writes:
    """A run's rows to write, in order."""

    # Each new row with the rows it points to (their keys are known only once allocated).
    new_customers: list = field(default_factory=list)
    events: list = field(default_factory=list)  # (event, customer)
    lots: list = field(default_factory=list)  # (lot, customer, event)
    entries: list = field(default_factory=list)  # (entry, customer, event, lot)
    new_balances: dict = field(default_factory=dict)  # id(row) -> (row, customer)
    balances: dict = field(default_factory=dict)  # id(row) -> row (existing, changed)
    customers: dict = field(default_factory=dict)  # pk -> customer (existing)

    def marks(self) -> tuple:
        return len(self.events), len(self.lots), len(self.entries), len(self.balances)

    def truncate(self, marks: tuple) -> None:
        """Forget what was added since `marks`: the rows appended, and the changed balance rows
        first named since (a dict keeps its insertion order, and a row named again keeps its
        place, so they are the last ones: popitem takes them). Counting instead of copying the
        keys of `balances` at every item: that copy made a run of N items on existing balances
        cost N^2 / 2 key copies."""
        del self.events[marks[0] :], self.lots[marks[1] :], self.entries[marks[2] :]
        for _ in range(len(self.balances) - marks[3]):
            self.balances.popitem()


def register_events(*, environment, items, source, admin_user=None, reason="", explain=True) -> list[Outcome]:
    """Register `items` (events.batch.BatchItem) in order; see the module docstring. Returns one
    Outcome per item. Raises only what is not an EngineError; then nothing is stored.
    `explain=False`: a batched item's EventResult leaves out the before / after figures
    (balances, tiers, status), which a caller that only counts outcomes never reads."""
    items = list(items)
    outcomes: list[Outcome | None] = [None] * len(items)
    meta = {"source": source, "admin_user": admin_user, "reason": reason, "explain": explain}
    with transaction.atomic():
        gate = _Gate(environment)
        run: list[_Item] = []
        for index, item in enumerate(items):
            try:
                call = engine.check_call(
                    environment=environment,
                    action=item.action,
                    data=item.data,
                    account=item.account,
                    source=source,
                    reason=item.reason or reason,
                    effective_timestamp=item.effective_timestamp,
                )
            except EngineError as error:
                outcomes[index] = Outcome(index, error=error)
                continue
            entry = _Item(index, item, call)
            if gate.batchable(entry):
                run.append(entry)
                continue
            _run(environment, run, outcomes, meta, gate)
            run = []
            outcomes[index] = _one(environment, entry, meta)
        _run(environment, run, outcomes, meta, gate)
    return outcomes  # type: ignore[return-value]


def _one(environment, entry: _Item, meta) -> Outcome:
    """The item through register_event (its own savepoint inside our transaction)."""
    item = entry.item
    try:
        result = engine.register_event(
            environment=environment,
            customer=item.customer,
            action=item.action,
            data=item.data,
            account=item.account,
            external_id=item.external_id,
            effective_timestamp=item.effective_timestamp,
            source=meta["source"],
            admin_user=meta["admin_user"],
            reason=item.reason or meta["reason"],
        )
    except EngineError as error:
        return Outcome(entry.index, error=error)
    return Outcome(entry.index, result=result)


class _Gate:
    """Which items may be batched: what the whole call shares is decided once here."""

    def __init__(self, environment):
        self.program = program = Program.current()
        table = workflow_triggers.active_event_workflows() if program.workflows else {}
        self.off = (
            any(key[0] == environment for key in table)
            or bool(program.budgets and budgets.active_budgets())
            or any(account.expiration_rule == "dynamic" for account in all_accounts())
        )
        self.counted = {
            action for action in BATCHED if program.achievements and achievements.counts_action(action)
        }
        self.structures = bool(program.tiers and tiers.structures())
        self.external = {name for name, f in custom_fields().items() if f.external_id}

    def batchable(self, entry: _Item) -> bool:
        item, call = entry.item, entry.call
        action = call.spec.action
        if self.off or call.custom is not None or action not in BATCHED or action in self.counted:
            return False
        ref = item.customer
        if not isinstance(ref, str) or ":" in ref or not ref.strip() or item.external_id or "\x00" in ref:
            return False
        keys = {key for key, value in call.data.items() if value not in (None, "")}
        if action == "point_add":
            return not self.structures and not (keys & POINT_ADD_PER_ROW)
        return not (keys & PROFILE_PER_ROW) and not (keys & self.external)


def _run(environment, run: list[_Item], outcomes, meta, gate: _Gate) -> None:
    """Batch the run up to its first item that must go one by one, register that one, repeat: the
    events are stored in the items' order, as one by one."""
    while run:
        try:
            with transaction.atomic():
                rest = _batched(environment, run, outcomes, meta, gate)
        except IntegrityError:
            rest = run  # a concurrent writer created one of the new customers: one by one
            for entry in rest:
                outcomes[entry.index] = _one(environment, entry, meta)
            return
        if rest:
            outcomes[rest[0].index] = _one(environment, rest[0], meta)
        run = rest[1:]


def _batched(environment, run: list[_Item], outcomes, meta, gate: _Gate) -> list[_Item]:
    """Apply the run's items in memory up to the first one that must go one by one, and write
    them; returns the items from that one on."""
    program = gate.program
    ids = sorted({entry.item.customer for entry in run})
    # One lock query for the run, in primary-key order like every multi-customer lock (merge).
    found = {c.customer_id: c for c in _lock_customers(environment, ids)}
    pks = [c.pk for c in found.values()]
    loaded = {c.pk: _CUSTOMER_VALUES(c.__dict__) for c in found.values()}
    balances: dict[int, dict[int, PointBalance]] = {pk: {} for pk in pks}
    if pks:
        rows = (
            fastsql.lock_all(PointBalance, "customer_id = ANY(%s) ORDER BY customer_id, id", [pks])
            if connection.vendor == "postgresql"
            else PointBalance.objects.select_for_update()
            .filter(customer_id__in=pks)
            .order_by("customer_id", "pk")
        )
        for row in rows:
            balances[row.customer_id][row.account_id] = row
    tier_rows: dict[int, dict] = {pk: {} for pk in pks}
    if program.tiers and tiers.structures() and pks:
        for ct in CustomerTier.objects.filter(customer_id__in=pks).select_related("tier"):
            tier_rows[ct.customer_id][ct.structure_id] = ct
    now = clock.now(environment)
    one_by_one = _per_row_customers(environment, run, found, tier_rows, program, now)
    stop = next((i for i, entry in enumerate(run) if entry.item.customer in one_by_one), len(run))
    writes = _Writes()
    new: dict[str, Customer] = {}  # not found: created by their first applied opt_in
    results: list[tuple[int, EventResult]] = []
    for entry in run[:stop]:
        ref = entry.item.customer
        customer = found.get(ref)
        created = False
        if customer is None:
            customer = new.get(ref)
            if customer is None:
                customer = new[ref] = fastsql.new(
                    Customer,
                    environment=environment,
                    customer_id=ref,
                    status=CustomerStatus.INACTIVE,
                    created_at=now,
                    updated_at=now,
                )
                balances[id(customer)] = {}
            if customer.pk is None and not getattr(customer, "_bulk_exists", False):
                if not _may_create(program, entry.call.spec):
                    outcomes[entry.index] = Outcome(
                        entry.index, error=CustomerNotFound(f"Customer {ref!r} not found.", field="customer")
                    )
                    continue
                created = True
        key = customer.pk if customer.pk is not None else id(customer)
        try:
            result = _apply(entry, customer, created, balances[key], tier_rows.get(key), writes, meta, now)
        except EngineError as error:
            outcomes[entry.index] = Outcome(entry.index, error=error)
            continue
        if created:
            customer._bulk_exists = True
            writes.new_customers.append(customer)
        elif customer.pk is not None:
            writes.customers.setdefault(customer.pk, customer)
        results.append((entry.index, result))
    _write(writes, loaded, now)
    # subscribed events are sent on commit, as register_event does
    webhooks.after_events([result for _, result in results])
    for index, result in results:
        outcomes[index] = Outcome(index, result=result)
    return run[stop:]


def _lock_customers(environment, ids: list[str]) -> list[Customer]:
    """The live customers with these IDs, locked in primary-key order (one statement; an array
    parameter on PostgreSQL instead of thousands of placeholders)."""
    if connection.vendor != "postgresql":
        return list(
            Customer.objects.select_for_update()
            .filter(environment=environment, customer_id__in=ids, anonymized_at__isnull=True)
            .order_by("pk")
        )
    return fastsql.lock_all(
        Customer,
        "environment = %s AND customer_id = ANY(%s) AND anonymized_at IS NULL ORDER BY id",
        [environment, ids],
    )


def _per_row_customers(environment, run, found, tier_rows, program, now) -> set[str]:
    """Customer IDs whose items go through register_event (see the module docstring)."""
    out = set()
    first_action: dict = {}
    for entry in run:
        first_action.setdefault(entry.item.customer, entry.call.spec)
    for ref, action in first_action.items():
        if ref in found:
            if program.tiers and tiers.expired_rows(tier_rows.get(found[ref].pk), now):
                out.add(ref)
        elif (
            not _may_create(program, action)
            or not engine.CUSTOMER_ID_PATTERN.match(ref)
            or ref.lower().startswith(ANONYMIZED_PREFIX)
        ):
            out.add(ref)
    if program.transactions:
        opt_ins = [e for e in run if e.call.spec.action == "opt_in" and e.item.customer not in out]
        keys = {e.item.customer for e in opt_ins}
        keys |= {str(e.call.data["email"]).strip().lower() for e in opt_ins if e.call.data.get("email")}
        keys |= {found[e.item.customer].email.strip().lower() for e in opt_ins if e.item.customer in found}
        keys.discard("")
        if keys and _guests_waiting(environment, sorted(keys)):
            out |= {e.item.customer for e in opt_ins}  # claimed at opt-in: one by one
    return out


def _may_create(program, spec) -> bool:
    """Whether an event of `spec` for an unknown customer ID creates the customer
    (engine.lock_customer: opt_in, or any creating action with anonymous registration on)."""
    return spec.action == "opt_in" or bool(program.anonymous_registration and spec.creates_customer)


def _guests_waiting(environment, keys: list[str]) -> bool:
    if connection.vendor != "postgresql":
        return Transaction.objects.filter(
            environment=environment, customer__isnull=True, guest__in=keys
        ).exists()
    cursor = fastsql.cursor()
    cursor.execute(
        f"SELECT 1 FROM {Transaction._meta.db_table} WHERE environment = %s AND customer_id IS NULL"
        " AND guest = ANY(%s) LIMIT 1",
        [environment, keys],
    )
    return cursor.fetchone() is not None


def _apply(
    entry: _Item, customer, created, balance_rows, tier_rows, writes: _Writes, meta, now
) -> EventResult:
    """One item in memory: what engine._apply does for these actions, without a statement."""
    call = entry.call
    spec, program, account = call.spec, call.program, call.account
    saved = dict(customer.__dict__)
    saved_rows = {pk: dict(row.__dict__) for pk, row in balance_rows.items()}
    marks = writes.marks()
    explain = meta["explain"]
    result = EventResult(customer=customer, customer_created=created)
    if explain:
        result.status_before = customer.status
        result.balances_before = {} if created else engine.snapshot_rows(balance_rows.values())
        result.tiers_before = tiers.snapshot(tier_rows or {}) if program.tiers and not created else {}
    data = call.data
    secret = {attr.name for attr in spec.attributes if attr.secret}
    stored = {key: value for key, value in data.items() if key not in secret} if secret else data
    points, expires_at = 0, None
    try:
        prepare = ledger.PREPARE.get(spec.action)
        if prepare is not None:
            points, expires_at = prepare(
                data=data,
                points=0,
                account=account,
                program=program,
                now=now,
                earned_at=call.effective or now,
            )
        event = fastsql.new(
            Event,
            environment=customer.environment,
            customer=customer,
            action=spec.action,
            label=catalog.label_for(spec.action),
            timestamp=now,
            effective_at=call.effective or now,
            points=points,
            account=account,
            expires_at=expires_at,
            transaction_id=str(data.get("transaction_id") or ""),
            data=jsonable(stored),
            parent=None,
            source=meta["source"],
            admin_user=meta["admin_user"],
            workflow_id=None,
            reason=call.reason,
            ip_address=None,
            user_agent="",
        )
        result.event = event
        result.events.append(event)
        writes.events.append((event, customer))
        ctx = HandlerContext(
            event=event,
            customer=customer,
            program=program,
            account=account,
            data=data,
            now=now,
            result=result,
            emit=_no_follow_ups,
            environment=customer.environment,
            source=meta["source"],
            admin_user=meta["admin_user"],
            spec=spec,
            extra_attrs=call.extra,
            balances=balance_rows,
            balances_complete=True,
            tier_rows=tier_rows,
        )
        if spec.action == "opt_in":
            _opt_in(ctx)
        elif spec.action == "profile":
            apply_attributes(ctx)  # lifecycle.profile without a password (not batched)
        else:
            _credit(ctx, points, expires_at, writes)
    except EngineError:
        customer.__dict__.clear()
        customer.__dict__.update(saved)
        for pk in list(balance_rows):
            if pk not in saved_rows:
                writes.new_balances.pop(id(balance_rows.pop(pk)), None)
            else:
                balance_rows[pk].__dict__.clear()
                balance_rows[pk].__dict__.update(saved_rows[pk])
        writes.truncate(marks)
        raise
    customer.last_activity_at = now
    customer.updated_at = now
    if explain:
        result.status_after = customer.status
        result.balances_after = engine.snapshot_rows(balance_rows.values())
        result.tiers_after = tiers.snapshot(tier_rows or {}) if program.tiers else {}
    return result


def _no_follow_ups(*args, **kwargs):
    raise AssertionError("a batched action emitted a follow-up event")  # BATCHED actions emit none


def _opt_in(ctx: HandlerContext) -> None:
    """customers.lifecycle.opt_in for a row without password or referral code and no guest
    transaction to claim (the gate sends those one by one)."""
    lifecycle._require(ctx, "opt_in")
    customer = ctx.customer
    apply_attributes(ctx)
    missing = missing_required_fields(customer)
    if missing:
        raise MissingParameter(
            f"Missing required attribute(s) for opt-in: {', '.join(missing)}.", field=f"data.{missing[0]}"
        )
    if customer.status == CustomerStatus.INACTIVE:
        customer.status = (
            CustomerStatus.PENDING if ctx.program.customer_verification else CustomerStatus.ACTIVE
        )
    if customer.optin_at is None:
        customer.optin_at = ctx.now


def _credit(ctx: HandlerContext, points: int, expires_at, writes: _Writes) -> None:
    """loyalty.ledger.point_add -> credit for an active lot on the event's account (no dates, no
    subledger: the gate sends those one by one); the rows are written with the run."""
    if not ctx.customer.can_earn:
        raise StatusForbids(f"A {ctx.customer.status} customer cannot earn points.", field="customer")
    account = ledger.account_for(ctx, None)
    lot = fastsql.new(
        PointLot,
        customer=ctx.customer,
        account=account,
        event=ctx.event,
        points=points,
        status=LotStatus.ACTIVE,
        activates_at=None,
        expires_at=expires_at,
        created_at=ctx.event.effective_at,
    )
    row = ctx.balances.get(account.pk)
    if row is None:
        row = ctx.balances[account.pk] = fastsql.new(PointBalance, customer=ctx.customer, account=account)
        writes.new_balances[id(row)] = (row, ctx.customer)
    elif row.pk is not None:
        writes.balances[id(row)] = row
    ledger.change(ctx, row, earned=points, spendable=points)
    ctx.dirty_balances.clear()
    entry = fastsql.new(
        LedgerEntry,
        event=ctx.event,
        customer=ctx.customer,
        account=account,
        lot=lot,
        kind=EntryKind.EARN,
        amount=points,
        spendable_after=row.spendable,
        created_at=ctx.event.effective_at,
    )
    ctx.result.ledger_entries.append(entry)
    ctx.result.lots_created.append(lot)
    writes.lots.append((lot, ctx.customer, ctx.event))
    writes.entries.append((entry, ctx.customer, ctx.event, lot))
    ctx.touched_points = True  # tiers: none to evaluate (the gate sends point_add one by one then)


def _write(writes: _Writes, loaded: dict, now) -> None:
    """The run's rows: INSERTs of many rows each (COPY on PostgreSQL), UPDATEs by executemany.
    The keys of the rows a new row points to are copied into it once allocated (straight into the
    instance dict: the related instance stays cached, and no descriptor runs per row)."""
    new_balances = list(writes.new_balances.values())
    events = [event for event, _ in writes.events]
    lots = [lot for lot, _, _ in writes.lots]
    entries = [entry for entry, _, _, _ in writes.entries]
    balances = [row for row, _ in new_balances]
    _allocate_ids([writes.new_customers, events, lots, entries, balances])
    _insert(Customer, writes.new_customers)
    for event, customer in writes.events:
        event.__dict__["customer_id"] = customer.id
    _insert(Event, events)
    for row, customer in new_balances:
        row.__dict__["customer_id"], row.updated_at = customer.id, now
    _insert(PointBalance, balances, as_is={"updated_at"})
    for lot, customer, event in writes.lots:
        values = lot.__dict__
        values["customer_id"], values["event_id"] = customer.id, event.id
    _insert(PointLot, lots)
    for entry, customer, event, lot in writes.entries:
        values = entry.__dict__
        values["customer_id"], values["event_id"], values["lot_id"] = customer.id, event.id, lot.id
    _insert(LedgerEntry, entries)
    # The ledger's own statement (loyalty.ledger.sql.write_changes) sets updated_at to the event's
    # clock (auto_now would set the wall clock): the changed balance rows get it here.
    for row in writes.balances.values():
        row.updated_at = now
    _update(PointBalance, list(writes.balances.values()), [*ledger.TOTALS, "updated_at"], raw=True)
    # Each customer's changed columns (as engine._apply writes them), grouped: one UPDATE each.
    groups: dict[tuple, list] = {}
    for pk, customer in writes.customers.items():
        before, current = loaded[pk], _CUSTOMER_VALUES(customer.__dict__)
        if before != current:
            names = tuple(itertools.compress(CUSTOMER_COLUMNS, map(operator.ne, before, current)))
            groups.setdefault(names, []).append(customer)
    for names, customers in groups.items():
        _update(Customer, customers, list(names))


def _update(model, objs: list, names: list[str], raw: bool = False) -> None:
    """UPDATE the named fields of many rows: on PostgreSQL one statement joining the arrays of
    new values (unnest), elsewhere one executemany. `raw` takes the attribute values as they are
    (no pre_save: a balance row's updated_at is the event clock's, not auto_now's)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        if raw:
            fields = [model._meta.get_field(name) for name in names]
            sql = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
            fastsql.cursor().executemany(
                f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {sql} WHERE id = %s",
                [
                    [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] + [obj.pk]
                    for obj in objs
                ],
            )
        else:
            fastsql.update_many(objs, names)
        return
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    kinds = dict(zip(*_copy_fields(model), strict=True))
    sets, constants, arrays, columns = [], [], ["%s::bigint[]"], [[obj.pk for obj in objs]]
    for f in fields:
        kind = kinds[f]
        if kind is False and raw:
            kind = dt.datetime  # auto_now, taken as it is
        values = [_prepared(f, kind, obj, raw) for obj in objs]
        cast = f.cast_db_type(connection)
        if _same_value(values):  # e.g. the event clock in updated_at: one parameter, not an array
            sets.append(f"{quote(f.column)} = %s::{cast}")
            constants.append(values[0])
        else:
            sets.append(f"{quote(f.column)} = v.c{len(columns)}")
            arrays.append(f"%s::{cast}[]")
            columns.append(values)
    aliases = ", ".join(["id"] + [f"c{i}" for i in range(1, len(columns))])
    fastsql.cursor().execute(
        f"UPDATE {quote(model._meta.db_table)} AS t SET {', '.join(sets)}"
        f" FROM unnest({', '.join(arrays)}) AS v({aliases}) WHERE t.id = v.id",
        constants + columns,
    )


_SCALARS = (int, str, bool, dt.datetime, dt.date, type(None))


def _same_value(values: list) -> bool:
    """Whether every value is the same one of a plain type (sent once: a value of another type,
    JSON for one, could be equal in Python and still be sent differently)."""
    first = values[0]
    kind = type(first)
    return kind in _SCALARS and all(type(value) is kind and value == first for value in values)


BATCH = 2000


def _allocate_ids(tables: list[list]) -> None:
    """PostgreSQL: primary keys for every new row of the run from the tables' own sequences, in
    one query (COPY returns no keys); the rows are then linked before they are written. Other
    databases get their keys from bulk_create.

    The sequence is looked up once per table, in a scalar subquery (an InitPlan): written inside
    nextval(), pg_get_serial_sequence (a catalog search) ran once per key, 8 us each, a fifth of
    the backend CPU of an import (bench/bench_imports.py)."""
    if connection.vendor != "postgresql" or not any(tables):
        return
    selects, params = [], []
    for objs in tables:
        if objs:
            selects.append(
                "ARRAY(SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass))"
                " FROM generate_series(1, %s))"
            )
            params += [type(objs[0])._meta.db_table, len(objs)]
    cursor = fastsql.cursor()
    cursor.execute(f"SELECT {', '.join(selects)}", params)
    arrays = iter(cursor.fetchone())
    for objs in tables:
        if objs:
            for obj, pk in zip(objs, next(arrays), strict=True):
                obj.pk = pk


_JSON = "json"


@functools.cache
def _copy_fields(model) -> tuple[tuple, tuple]:
    """(fields without the key, per field the type of value COPY takes as it is (None too), None
    when only None is, `_JSON` for a JSON field (a dict or list is written as the text
    `json.dumps` makes with the field's encoder: what psycopg's Jsonb adapter sends), or False
    for a field set on save (auto_now)): fastsql's plain types, datetimes and dates; everything
    else is converted by the field itself."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    kinds = []
    for f in fields:
        kind = fastsql._plain_type(f)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            kind = False  # set on save: always through pre_save
        elif isinstance(f, models.DateTimeField):
            kind = dt.datetime
        elif isinstance(f, models.DateField):
            kind = dt.date
        elif isinstance(f, models.JSONField):
            kind = _JSON
        kinds.append(kind)
    return fields, tuple(kinds)


def _prepared(f, kind, obj, raw: bool):
    """The value of field `f` of `obj` as the ORM sends it for an UPDATE (`raw`: without
    pre_save); a value of the type the database adapter takes as it is (see _copy_fields)
    passes unconverted."""
    if kind is not False:
        value = obj.__dict__.get(f.attname, fastsql._MISSING)
        if value is None or (type(value) is kind and (kind is not dt.datetime or value.tzinfo is not None)):
            return value
    return f.get_db_prep_save(getattr(obj, f.attname) if raw else f.pre_save(obj, False), connection)


def _insert(model, objs: list, as_is: frozenset | set = frozenset()) -> None:
    """Write new rows: COPY on PostgreSQL (keys allocated above), bulk_create elsewhere. Values are
    converted like the ORM converts them (loyalty.fastsql: the fields' pre_save and
    get_db_prep_save; JSON as Django's psycopg adapter dumps it), so what is stored is what
    bulk_create would store."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=BATCH)
        if as_is:  # bulk_create's auto_now replaced them
            _update(model, objs, sorted(as_is), raw=True)
        return
    plan = _copy_plan(model, frozenset(as_is))
    alias = connection.alias  # read once: each use of the `connection` proxy is a thread-local look-up
    db = connections[alias]
    # wrap_database_errors: a unique violation is Django's IntegrityError (see _run), as through the ORM
    with db.wrap_database_errors, fastsql.cursor().cursor.copy(plan.sql) as copy:
        for obj in objs:
            copy.write_row(plan.row(obj, db))
    for obj in objs:
        state = obj._state
        state.adding, state.db = False, alias


class _CopyPlan:
    """How one model's rows become COPY rows. The values of a row are read at once and their
    types compared with the types seen before (a few combinations per model: None or a value);
    for each combination the columns that need work are worked out once (`_steps`), so a row
    costs a handful of operations instead of one per column: a JSON value is dumped, a
    date-time checked for a time zone, an auto_now field or a value of an unexpected type goes
    through the field (pre_save, get_db_prep_save), everything else is sent as it is."""

    def __init__(self, model, as_is: frozenset):
        fields, kinds = _copy_fields(model)
        self.fields = fields
        self.kinds = tuple(
            dt.datetime if f.attname in as_is else kind for f, kind in zip(fields, kinds, strict=True)
        )
        self.dumps = tuple(
            (functools.partial(json.dumps, cls=f.encoder) if f.encoder else json.dumps)
            if kind == _JSON
            else None
            for f, kind in zip(fields, self.kinds, strict=True)
        )
        self.values = operator.itemgetter(model._meta.pk.attname, *(f.attname for f in fields))
        self.known: dict[tuple, tuple] = {}
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        self.sql = f"COPY {quote(model._meta.db_table)} (id, {columns}) FROM STDIN"

    def _steps(self, types: tuple) -> tuple:
        """(column, step) for the columns of a row with these value types that are not sent as
        they are: "json", "aware" (a date-time: sent as it is only with a time zone), "str" (a
        str subclass such as a TextChoices member: CharField.to_python's str()) or "field"."""
        steps = []
        for index, (kind, kind_of) in enumerate(zip(self.kinds, types[1:], strict=True), start=1):
            if kind is not False and kind_of is type(None):
                continue
            if kind is not False and kind_of is kind:
                if kind is dt.datetime:
                    steps.append((index, "aware"))
                continue
            if kind is str and issubclass(kind_of, str):
                continue  # a choices member (CustomerStatus.ACTIVE): the field would return it as it is
            if kind is None and kind_of is int and isinstance(self.fields[index - 1], models.DecimalField):
                continue  # an int default (purchase_total = 0): the same number as Decimal(0)
            if kind == _JSON and kind_of in (dict, list):
                steps.append((index, "json"))
                continue
            if kind is str and issubclass(kind_of, str):  # a choices enum: what to_python makes
                steps.append((index, "str"))
                continue
            steps.append((index, "field"))
        return tuple(steps)

    def row(self, obj, db=connection) -> list:
        """`db`: the connection itself (the `connection` proxy costs a thread-local look-up at
        every use: a third of a Decimal field's conversion)."""
        try:
            row = list(self.values(obj.__dict__))
        except KeyError:  # a deferred column: read through the field
            row = [obj.pk, *(fastsql._MISSING for _ in self.fields)]
            types = (int, *(object for _ in self.fields))
        else:
            types = tuple(map(type, row))
        steps = self.known.get(types)
        if steps is None:
            steps = self._steps(types)
            if len(self.known) < 256:
                self.known[types] = steps
        for index, step in steps:
            if step == "json":
                row[index] = self.dumps[index - 1](row[index])
            elif step == "aware" and row[index].tzinfo is not None:
                continue
            elif step == "str":
                row[index] = str(row[index])
            else:
                f = self.fields[index - 1]
                row[index] = f.get_db_prep_save(f.pre_save(obj, True), db)
        return row


@functools.cache
def _copy_plan(model, as_is: frozenset) -> _CopyPlan:
    return _CopyPlan(model, as_is)


__all__ = ["BATCHED", "Outcome", "register_events"]
