"""One event per customer for many customers, with set-based SQL: `register_event_set`.

    bulk list operations (segments.tasks.run_bulk)
        -> register_event_set(environment=, action="customer_list_add", customers=[refs], data=, source=)
            validate the action and its data once                  (as register_event)
            resolve the references and lock the rows               (IDs: one SELECT ... ORDER BY id
                                                                    FOR UPDATE; external IDs: one
                                                                    query per field)
            the action's set handler: refusals                     (SET_HANDLERS, segments.lists)
            ONE statement (PostgreSQL): the events' INSERT ... SELECT, the handler's write reading
            them (a data-modifying CTE); the customers' last_activity_at / updated_at UPDATE
            only for an action that is customer activity (ActionSpec.activity: list
            memberships are not, so their customer rows are locked but not rewritten)
            webhook subscriptions on the action: the events dispatched on commit
        <- SetOutcome: {position: event ID} applied, [(position, EngineError)] refused

The stored rows are what `register_event` stores for each customer, one event per customer with
the same action, label, data, source, admin user, reason and account, in request order; a refusal
(unknown customer, already on the list...) is the same EngineError with the same code and message
at the same position, and stores nothing for that customer. A customer named twice (the same ID
again, or its ID and an external ID) is taken by the set at its first reference; the later ones go
through register_event after it, refused as they would be one after the other. Only actions whose
effect is a membership row are set-based (the SET_HANDLERS table); anything per-customer the
engine would do besides the handler sends the customer through `register_event` instead, which
gives the same result more slowly:

- a reference the set does not resolve (unknown or invalid IDs, `card:` codes, fields that are not
  external IDs, opted-out customers: register_event gives the exact refusal);
- a customer whose tier or manual tier lock has ended (re-evaluated before any handler);
- the whole set, when an active achievement counts the action, an active event-triggered workflow
  listens to it (its modifier branch runs per event, before the event is stored, and may refuse
  it) or, for an action that is customer activity, a point account has dynamic expiration (any
  activity pushes its dates: loyalty.ledger.lots.after_event).

Budgets count points, coupons, rewards and referrals, which list actions never produce. One call
is one transaction: callers pass chunks (segments.tasks.run_bulk: 2,000 customers).
`tests/segments/test_event_sets.py` proves the equivalence with random request sequences
(Hypothesis) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q

from achievements import progress as achievements
from customers.fields import external_id_fields
from customers.models import Customer, ExternalId
from loyalty import clock
from loyalty.bounds import TEXT_MAX
from loyalty.choices import Environment
from loyalty.errors import EngineError, ValidationError
from loyalty.jsonable import jsonable
from loyalty.ledger.accounts import all_accounts, resolve_account
from loyalty.models import CustomerTier, Program
from segments import lists as customer_lists
from webhooks import delivery as webhooks
from workflows import triggers as workflow_triggers

from . import catalog
from .choices import EventSource
from .engine import register_event, resolve_spec
from .models import Event
from .validation import validate_data

# Action -> its set handler: prepare(program, data) -> target (an EngineError refuses every
# customer), refusals(target, pks) -> {pk: EngineError}, apply(target, {pk: event ID}, now).
SET_HANDLERS = {
    "customer_list_add": customer_lists.ListAddSet,
    "customer_list_remove": customer_lists.ListRemoveSet,
}


@dataclass
class SetOutcome:
    applied: dict[int, int] = field(default_factory=dict)  # position in `customers` -> event ID
    refused: list[tuple[int, EngineError]] = field(default_factory=list)  # (position, error)
    one_by_one: int = 0  # customers that went through register_event (see the module docstring)


def register_event_set(
    *,
    environment: str,
    action: str,
    customers: list[str],
    data: dict,
    source: str = EventSource.API,
    admin_user=None,
    reason: str = "",
) -> SetOutcome:
    """Register `action` with `data` for each customer reference; see the module docstring.
    Raises ValueError for an action without a set handler, and what is not an EngineError (then
    nothing of the set is stored)."""
    handler = SET_HANDLERS.get(action)
    if handler is None:
        raise ValueError(f"{action!r} has no set-based form")

    def one(position: int, ref: str, outcome: SetOutcome) -> None:
        outcome.one_by_one += 1
        try:
            result = register_event(
                environment=environment,
                customer=ref,
                action=action,
                data=data,
                source=source,
                admin_user=admin_user,
                reason=reason,
            )
        except EngineError as error:
            outcome.refused.append((position, error))
        else:
            outcome.applied[position] = result.event.pk

    outcome = SetOutcome()
    program = Program.current()
    try:
        # The checks register_event makes before touching a customer, once for the whole set.
        if environment not in Environment.values:
            raise ValidationError(f"Unknown environment {environment!r}.", field="environment")
        if source not in EventSource.values:
            raise ValidationError(f"Unknown event source {source!r}.", field="source")
        spec, _custom, extra = resolve_spec(action)
        if spec.internal or (spec.console_only and source != EventSource.PLATFORM):
            raise ValidationError(f"{action!r} cannot be registered in a set.", field="action")
        clean = validate_data(spec, data, extra)
        account = resolve_account(None, multi_accounts=program.multi_accounts)
        data_reason = clean.get("reason")
        reason = reason or (data_reason if isinstance(data_reason, str) else "")
        if not isinstance(reason, str) or "\x00" in reason:
            raise ValidationError("The reason must be text without NUL characters.", field="reason")
        if len(reason) > TEXT_MAX:
            raise ValidationError(f"The reason is longer than {TEXT_MAX} characters.", field="reason")
        target = handler.prepare(program, clean)
    except EngineError as error:
        outcome.refused = [(position, error) for position in range(len(customers))]
        return outcome
    if _reacts_per_customer(program, environment, spec):
        for position, ref in enumerate(customers):
            one(position, ref, outcome)
        return outcome

    now = clock.now(environment)
    with transaction.atomic():
        plain: dict[str, int] = {}
        for position, ref in enumerate(customers):
            if isinstance(ref, str) and ":" not in ref:
                plain.setdefault(ref, position)
        external = _external_refs(environment, customers)
        # A customer named several times (a repeated ID, an ID and an external ID): the set takes
        # the first reference, its later ones go one by one after it (refused as the engine would).
        position_of = {}
        for pk, customer_id in _lock_customers(environment, list(plain), list(external)):
            positions = external.get(pk, [])
            if customer_id in plain:
                positions = [plain[customer_id], *positions]
            position_of[pk] = min(positions)
        resolved = set(position_of.values())
        later = [p for p in range(len(customers)) if p not in resolved]
        if program.tiers:
            ended = _tier_ended(list(position_of), now)
            later += [position_of.pop(pk) for pk in ended]
        refusals = handler.refusals(target, list(position_of))
        outcome.refused += [(position_of.pop(pk), error) for pk, error in refusals.items()]
        # In request order, as one event after the other would be stored.
        pks = sorted(position_of, key=position_of.__getitem__)
        event_ids = _store(
            pks,
            handler=handler,
            target=target,
            environment=environment,
            action=action,
            now=now,
            account=account,
            data=jsonable(clean),
            source=source,
            admin_user=admin_user,
            reason=reason or "",
            activity=spec.activity,
        )
        outcome.applied.update({position_of[pk]: event_id for pk, event_id in event_ids.items()})
        if event_ids:
            webhooks.after_event_set(environment, action, list(event_ids.values()))
        for position in sorted(later):
            one(position, customers[position], outcome)
    return outcome


def _external_refs(environment: str, customers: list) -> dict[int, list[int]]:
    """{customer pk: positions} of the `field:value` references of external-ID fields, one query
    per field. Other references with a colon (`card:`, a field that is not an external ID) are
    left to register_event, which finds the card or gives the exact refusal."""
    fields = external_id_fields()
    wanted: dict[str, dict[str, list[int]]] = {}
    for position, ref in enumerate(customers):
        if isinstance(ref, str) and ":" in ref and "\x00" not in ref:
            field, value = ref.split(":", 1)
            if field in fields:
                wanted.setdefault(field, {}).setdefault(value, []).append(position)
    found: dict[int, list[int]] = {}
    for field, values in wanted.items():
        rows = ExternalId.objects.filter(environment=environment, field=field, value__in=list(values))
        for value, pk in rows.values_list("value", "customer_id"):
            found.setdefault(pk, []).extend(values[value])
    return found


def _lock_customers(environment: str, customer_ids: list[str], pks: list[int]) -> list[tuple[int, str]]:
    """[(pk, customer ID)] of the live customers named by ID or primary key, their rows locked in
    primary-key order (like every multi-customer lock, merge included: no deadlock). PostgreSQL:
    the IDs as one array parameter, probing the unique index (environment, customer_id)."""
    if not customer_ids and not pks:
        return []
    if connection.vendor != "postgresql":
        return list(
            Customer.objects.select_for_update()
            .filter(Q(customer_id__in=customer_ids) | Q(pk__in=pks))
            .filter(environment=environment, anonymized_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "customer_id")
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, customer_id FROM {Customer._meta.db_table} WHERE environment = %s "
            "AND (customer_id = ANY(%s::text[]) OR id = ANY(%s::bigint[])) AND anonymized_at IS NULL "
            "ORDER BY id FOR UPDATE",
            [environment, customer_ids, pks],
        )
        return cursor.fetchall()


def _store(
    pks: list[int],
    *,
    handler,
    target,
    environment,
    action,
    now,
    account,
    data,
    source,
    admin_user,
    reason,
    activity: bool,
):
    """{customer pk: event ID}: one event per customer (in the order of `pks`), as register_event
    stores it (points 0, no expiry, no transaction ID, no parent, no IP or user agent), the
    handler's writes, and, when the action is customer `activity`, the customers'
    last_activity_at / updated_at (register_event moves them for activity only).

    PostgreSQL: ONE statement for the chunk: the events' INSERT ... SELECT over the array of
    customer IDs, the handler's statement reading the stored events (`stored(customer_id,
    event_id)`, a data-modifying CTE), the customers' UPDATE (activity only: it rewrote each
    customer row into all of the customer table's indexes, 70 % of a list add's database work).
    SQLite (no INSERT in a WITH): bulk_create, the handler's `apply`, a queryset update."""
    if not pks:
        return {}
    label = catalog.label_for(action)
    admin_pk = admin_user.pk if admin_user is not None else None
    if connection.vendor != "postgresql":
        events = [
            Event(
                environment=environment,
                customer_id=pk,
                action=action,
                label=label,
                timestamp=now,
                effective_at=now,
                points=0,
                account=account,
                data=data,
                source=source,
                admin_user_id=admin_pk,
                reason=reason,
            )
            for pk in pks
        ]
        Event.objects.bulk_create(events, batch_size=2000)
        event_ids = {event.customer_id: event.pk for event in events}
        handler.apply(target, event_ids, now)
        if activity:
            Customer.objects.filter(pk__in=pks).update(last_activity_at=now, updated_at=now)
        return event_ids
    apply_sql, apply_params = handler.apply_sql(target, now)
    touched, touched_params = "", []
    if activity:
        touched = (
            f", touched AS (UPDATE {Customer._meta.db_table} u SET last_activity_at = %s, updated_at = %s "
            "FROM c WHERE u.id = c.id)"
        )
        touched_params = [now, now]
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH c AS (SELECT id, n FROM unnest(%s::bigint[]) WITH ORDINALITY AS c(id, n)), "
            f"stored AS (INSERT INTO {Event._meta.db_table} (environment, customer_id, action, label, "
            "timestamp, effective_at, points, account_id, expires_at, transaction_id, data, source, "
            "admin_user_id, workflow_id, reason, ip_address, user_agent, parent_id) "
            "SELECT %s, c.id, %s, %s, %s, %s, 0, %s, NULL, '', %s::jsonb, %s, %s, NULL, %s, NULL, '', NULL "
            "FROM c ORDER BY c.n RETURNING customer_id, id AS event_id), "
            f"applied AS ({apply_sql}){touched} "
            "SELECT customer_id, event_id FROM stored",
            [
                pks,
                environment,
                action,
                label,
                now,
                now,
                account.pk,
                json.dumps(data),
                source,
                admin_pk,
                reason,
                *apply_params,
                *touched_params,
            ],
        )
        return dict(cursor.fetchall())


def _reacts_per_customer(program, environment: str, spec) -> bool:
    """Whether something besides the handler reacts to each such event (see the module docstring)."""
    if program.achievements and achievements.counts_action(spec.action):
        return True
    if program.workflows and workflow_triggers.active_event_workflows().get((environment, spec.action)):
        return True  # modifier branches run per event before it is stored (workflows.triggers)
    return spec.activity and any(account.expiration_rule == "dynamic" for account in all_accounts())


def _tier_ended(pks: list[int], now) -> set[int]:
    """Customers whose tier or manual tier lock has ended (register_event re-evaluates them first)."""
    ended = CustomerTier.objects.filter(customer_id__in=pks).filter(
        Q(expires_at__lte=now) | Q(locked=True, locked_until__lte=now)
    )
    return set(ended.values_list("customer_id", flat=True))
