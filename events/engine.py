"""The one entry point for changing a customer's loyalty state: `register_event`.

    API / console / import / workflow
        -> register_event(environment=..., customer=..., action=..., data=..., source=...)
            validate the action and its attributes          (events.catalog, events.validation)
            resolve the customer and lock its row             (SELECT ... FOR UPDATE)
            store the event, apply its handler (HANDLERS)     (same transaction)
            re-evaluate tiers when earned points changed      (loyalty.tiers)
        <- EventResult: what changed, explained; dry_run=True rolls it all back.

Every refusal raises an EngineError before anything is stored, or inside the transaction, which
then rolls back: a refused event leaves no row behind. Queries per built-in event: the customer
lock, the event insert, the handler's own writes, two balance snapshots and the customer update;
the program, accounts, custom fields and event definitions come from the cache.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import NamedTuple

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction

from achievements import progress as achievements  # Talon.One profile
from budgets import enforcement as budgets  # Talon.One profile
from cards import cards as loyalty_cards  # Talon.One profile
from coupons import auctions as coupon_auctions
from coupons import coupons as coupon_ops
from coupons import rewards as coupon_rewards
from customers import lifecycle
from customers.choices import CustomerStatus
from customers.lookup import find_customer, parse_customer_ref
from customers.models import ANONYMIZED_PREFIX, CUSTOMER_ID_RE, Customer
from loyalty import clock, fastsql, tiers
from loyalty.bounds import TEXT_MAX
from loyalty.choices import Environment
from loyalty.context import EventResult, GuestContext, HandlerContext
from loyalty.errors import (
    ConsoleOnlyAction,
    CustomerNotFound,
    EngineError,
    InternalAction,
    InvalidCustomerId,
    MissingParameter,
    ModuleDisabled,
    OneTimeActionRepeated,
    UnknownAction,
    ValidationError,
)
from loyalty.jsonable import jsonable
from loyalty.ledger import lots as ledger_lots
from loyalty.ledger import operations as ledger
from loyalty.ledger.accounts import account_by_id, resolve_account
from loyalty.models import PointAccount, PointBalance, Program
from referrals import referrals  # Talon.One profile
from segments import lists as customer_lists
from transactions import checkout as tx_checkout
from transactions import refunds as tx_refunds
from webhooks import delivery as webhooks
from workflows import campaigns as workflow_campaigns
from workflows import triggers as workflow_triggers

from . import catalog, definitions
from .choices import EventSource
from .immutability import Change, allow
from .models import Event
from .validation import parse_moment, validate_data

log = logging.getLogger("loyalty.engine")

Handler = Callable[[HandlerContext], None]

# Action name -> the function that applies it. One explicit table, read top to bottom.
HANDLERS: dict[str, Handler] = {
    # customers.lifecycle
    "opt_in": lifecycle.opt_in,
    "opt_out": lifecycle.opt_out,
    "profile": lifecycle.profile,
    "login": lifecycle.login,
    "verify": lifecycle.verify,
    "suspend": lifecycle.suspend,
    "unsuspend": lifecycle.unsuspend,
    "ban": lifecycle.ban,
    "unban": lifecycle.unban,
    "merge": lifecycle.merge,
    # loyalty.ledger
    "point_add": ledger.point_add,
    "point_sub": ledger.point_sub,
    "point_spend": ledger.point_spend,
    "point_unspend": ledger.point_unspend,
    "reserve_points": ledger.reserve_points,
    "release_points": ledger.release_points,
    "change_expiration": ledger_lots.change_expiration,
    "point_expire": ledger_lots.point_expire,
    "point_activate": ledger_lots.point_activate,
    # loyalty.tiers
    "tier_up": tiers.tier_up,
    "tier_down": tiers.tier_down,
    "tier_change": tiers.tier_change,
    "tier_remove": tiers.tier_remove,
    "tier_expiration_change": tiers.tier_expiration_change,
    "tier_review": tiers.tier_review,
    # transactions.checkout, transactions.refunds
    "checkout": tx_checkout.checkout,
    "checkout_update": tx_checkout.checkout_update,
    "checkout_accept": tx_checkout.checkout_accept,
    "checkout_reject": tx_checkout.checkout_reject,
    "checkout_claim": tx_checkout.checkout_claim,
    "checkout_item": tx_checkout.checkout_item,
    "checkout_update_item": tx_checkout.checkout_item,
    "refund": tx_refunds.refund,
    "partial_refund": tx_refunds.partial_refund,
    "refund_item": tx_refunds.refund_item,
    "point_unburn": tx_refunds.point_unburn,
    "coupon_assign": coupon_ops.coupon_assign,
    "coupon_redeem": coupon_ops.coupon_redeem,
    "coupon_unredeem": coupon_ops.coupon_unredeem,
    "coupon_invalidate": coupon_ops.coupon_invalidate,
    "coupon_unassign": coupon_ops.coupon_unassign,
    "coupon_transfer": coupon_ops.coupon_transfer,
    "coupon_expiration_change": coupon_ops.coupon_expiration_change,
    "reward": coupon_rewards.reward,
    "reward_revoke": coupon_rewards.reward_revoke,
    "reward_bid": coupon_auctions.reward_bid,
    "reward_bid_release": coupon_auctions.reward_bid_release,
    # workflows.campaigns (the Campaign bonus node; internal)
    "campaign_bonus": workflow_campaigns.campaign_bonus,
    # segments.lists
    "customer_list_add": customer_lists.customer_list_add,
    "customer_list_remove": customer_lists.customer_list_remove,
    # cards.cards
    "card_register": loyalty_cards.card_register,
    "card_unregister": loyalty_cards.card_unregister,
    "card_transfer": loyalty_cards.card_transfer,
    "card_status_change": loyalty_cards.card_status_change,
    # referrals.referrals
    "referral_code_create": referrals.referral_code_create,
    "referral_redeem": referrals.referral_redeem,
    "referral_reward": referrals.referral_reward,
    "referral_bonus": referrals.referral_bonus,
    # achievements.progress
    "achievement_completed": achievements.achievement_completed,
}


def custom_event_handler(ctx: HandlerContext) -> None:
    """A custom event: store it, and award its configured points through the ledger. A one-time
    event (reference §6: "once per customer lifetime") that the customer already has is refused
    with 10001 (the customer row is locked, so two concurrent first ones cannot both pass)."""
    custom = catalog.custom_specs().get(ctx.event.action)
    if custom is not None and custom.one_time:
        earlier = Event.objects.filter(customer=ctx.customer, action=ctx.event.action)
        if ctx.event.pk is not None:  # the event row may already be inserted
            earlier = earlier.exclude(pk=ctx.event.pk)
        if earlier.exists():
            raise OneTimeActionRepeated(f"Action {ctx.event.action!r} cannot be repeated.", field="action")
    points = ctx.event.points
    if points:
        ledger.credit(ctx, points)
        ctx.touched_points = True


class _DryRunRollback(Exception):
    def __init__(self, result: EventResult):
        self.result = result


def resolve_spec(action) -> tuple[definitions.ActionSpec, catalog.CustomSpec | None, tuple]:
    """(spec, custom definition or None, console-added attributes) for an action name."""
    if not isinstance(action, str) or not action.strip():
        raise MissingParameter("Missing required parameter 'action'.", field="action")
    spec = definitions.BUILTIN_ACTIONS.get(action)
    if spec is not None and action in HANDLERS:
        return spec, None, catalog.extension_attrs(action) if not spec.internal else ()
    custom = catalog.custom_specs().get(action)
    if custom is None or custom.builtin_extension:
        module = definitions.MODULE_DISABLED.get(action)
        if module is not None:  # the reference's answer for a module that is off: a 404
            raise ModuleDisabled(
                f"The {module} module is disabled; {action!r} cannot be registered.", field="action"
            )
        raise UnknownAction(f"Unknown action {action!r}.", field="action")
    return custom.spec, custom, ()


_ENVIRONMENTS = frozenset(Environment.values)
_SOURCES = frozenset(EventSource.values)


class CheckedCall(NamedTuple):
    """What register_event checks before touching a customer (events.bulk checks the same)."""

    spec: definitions.ActionSpec
    custom: catalog.CustomSpec | None
    extra: tuple
    data: dict
    effective: dt.datetime | None
    program: Program
    account: PointAccount
    reason: str


def check_call(
    *, environment, action, data, account, source, reason, effective_timestamp, internal=False
) -> CheckedCall:
    """The checks of one event that need no customer (environment, source, action, attributes,
    effective timestamp, account, reason): a CheckedCall, or the EngineError register_event raises."""
    if environment not in _ENVIRONMENTS:
        raise ValidationError(f"Unknown environment {environment!r}.", field="environment")
    if source not in _SOURCES:
        raise ValidationError(f"Unknown event source {source!r}.", field="source")
    spec, custom, extra = resolve_spec(action)
    if spec.internal and not internal:
        raise InternalAction(f"{action!r} is an internal event and cannot be registered.", field="action")
    if spec.console_only and source != EventSource.PLATFORM:
        raise ConsoleOnlyAction(f"{action!r} can only be registered from the console.", field="action")
    clean = validate_data(spec, data if data is not None else {}, extra)
    account_code = account or (clean.get("account") if isinstance(clean.get("account"), str) else None)
    # Antavo sends it as `data.effective_timestamp` (Unix time; any ISO 8601 form is read too).
    if effective_timestamp in (None, "") and clean.get("effective_timestamp") not in (None, ""):
        effective = _effective_timestamp(
            clean["effective_timestamp"], "data.effective_timestamp", environment
        )
    else:
        effective = _effective_timestamp(effective_timestamp, environment=environment)
    program = Program.current()
    point_account = resolve_account(account_code, multi_accounts=program.multi_accounts)
    data_reason = clean.get("reason")
    reason = reason or (data_reason if isinstance(data_reason, str) else "")
    if not isinstance(reason, str) or "\x00" in reason:
        raise ValidationError("The reason must be text without NUL characters.", field="reason")
    if len(reason) > TEXT_MAX:
        raise ValidationError(f"The reason is longer than {TEXT_MAX} characters.", field="reason")

    return CheckedCall(spec, custom, extra, clean, effective, program, point_account, reason)


def register_event(
    *,
    environment: str,
    customer: str | Customer | None,
    action: str,
    data: dict | None = None,
    account: str | None = None,
    external_id: str | None = None,
    source: str = EventSource.API,
    admin_user=None,
    workflow_id: int | None = None,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    effective_timestamp: dt.datetime | str | None = None,
    dry_run: bool = False,
    internal: bool = False,
) -> EventResult:
    """Validate, store and apply one event; see the module docstring. Raises EngineError."""
    call = check_call(
        environment=environment,
        action=action,
        data=data,
        account=account,
        source=source,
        reason=reason,
        effective_timestamp=effective_timestamp,
        internal=internal,
    )
    spec, custom, extra, clean = call.spec, call.custom, call.extra, call.data
    program, point_account, effective, reason = call.program, call.account, call.effective, call.reason

    try:
        with transaction.atomic():
            apply = _apply_guest if _is_guest_checkout(spec, customer, external_id, clean) else _apply
            result = apply(
                program=program,
                environment=environment,
                customer_ref=customer,
                external_id=external_id,
                spec=spec,
                custom=custom,
                extra=extra,
                data=clean,
                account=point_account,
                meta={
                    "source": source,
                    "admin_user": admin_user,
                    "workflow_id": workflow_id,
                    "reason": reason,
                    "ip_address": _ip_or_none(ip_address),
                    "user_agent": (user_agent or "")[:500],
                },
                effective=effective,
            )
            webhooks.after_event(result)  # subscribed events are sent on commit (none on rollback)
            if dry_run:
                result.dry_run = True
                raise _DryRunRollback(result)
            workflow_triggers.after_store(result)  # the action branches' outbox row, with the event
    except _DryRunRollback as rollback:
        return rollback.result
    except workflow_triggers.WorkflowInterrupt as interrupt:
        # Workflows: the event is not stored; the interrupted run is logged after the rollback.
        workflow_triggers.record_interrupt(interrupt, dry_run=dry_run)
        raise
    return result


def _ip_or_none(value) -> str | None:
    """The sender's address is metadata, not input to refuse: an unparsable one is not stored."""
    if not value:
        return None
    try:
        validate_ipv46_address(value)
    except DjangoValidationError:
        return None
    return value


def _effective_timestamp(
    value, field: str = "effective_timestamp", environment: str | None = None
) -> dt.datetime | None:
    """The moment the event counts from (a bare date: the start of that local day), or None.

    Bounded like every date attribute (years 1900..2999) and never in the future:
    an event cannot count from a moment that has not happened yet."""
    if value in (None, ""):
        return None
    try:
        moment = parse_moment(value, "effective_timestamp")
    except ValidationError as error:
        raise ValidationError(error.message, field=field) from None
    if moment > clock.now(environment) + EFFECTIVE_SKEW:
        raise ValidationError("effective_timestamp may not be in the future.", field=field)
    return moment


EFFECTIVE_SKEW = dt.timedelta(minutes=5)  # clocks of senders drift


def _is_guest_checkout(spec, customer, external_id, data) -> bool:
    """A checkout naming a guest and no customer is the engine's one case without a customer (001)."""
    return spec.action == "checkout" and not customer and not external_id and bool(data.get("guest"))


def _apply_guest(*, program, environment, spec, data, account, meta, effective, **_unused):
    """Store a guest checkout: the event with no customer, then its transaction (no points, no
    customer row to lock; the transaction ID's uniqueness is the only shared state)."""
    now = clock.now(environment)  # the sandbox has its own test clock (§8)
    result = EventResult()
    data = {**data, "guest": tx_checkout.guest_identifier(data.get("guest"))}
    result.event = _store_event(
        result,
        environment=environment,
        customer=None,
        action=spec.action,
        label=catalog.label_for(spec.action),
        data=data,
        points=0,
        account=account,
        meta=meta,
        now=now,
        effective=effective,
        parent=None,
        expires_at=None,
        transaction_id=str(data.get("transaction_id") or ""),  # bounded by validation (§6)
    )
    tx_checkout.guest_checkout(
        GuestContext(
            event=result.event,
            program=program,
            account=account,
            data=data,
            now=now,
            result=result,
            environment=environment,
            source=meta["source"],
        )
    )
    return result


def _apply(
    *, program, environment, customer_ref, external_id, spec, custom, extra, data, account, meta, effective
):
    now = clock.now(environment)  # the sandbox has its own test clock (§8)
    if spec.action == "merge":
        _lock_merge_pair(environment, customer_ref, external_id, data.get("source"))
    customer, created = lock_customer(program, environment, customer_ref, external_id, spec, now)
    result = EventResult(customer=customer, customer_created=created)
    result.status_before = customer.status
    loaded = _field_values(customer)
    # The customer's balance rows, locked (uncontended: we hold the customer lock) and handed to
    # the ledger through ctx, so the snapshot costs no extra query for point events. A separate
    # statement on purpose: one joined to the customer lock would read the balances as of before
    # a lock wait (PostgreSQL re-reads only the locked row), i.e. stale after a concurrent event.
    balance_rows = (
        {}
        if created
        else {
            row.account_id: row for row in fastsql.lock_all(PointBalance, "customer_id = %s", [customer.pk])
        }
    )
    result.balances_before = snapshot_rows(balance_rows.values())
    # A new customer has no tier rows; others' are loaded once here when tiers are on (else on use).
    tier_rows = {} if created else (tiers.load_rows(customer) if program.tiers else None)
    result.tiers_before = tiers.snapshot(tier_rows) if program.tiers and not created else {}

    def emit(action, data=None, points=0, account=None, parent=None, expires_at=None, transaction_id=""):
        return _store_event(
            result,
            environment=environment,
            customer=customer,
            action=action,
            label=catalog.label_for(action),
            data=data or {},
            points=points,
            account=account,
            meta=meta,
            now=now,
            effective=effective,
            parent=parent,
            expires_at=expires_at,
            transaction_id=transaction_id,
        )

    # Workflows: the modifier branch runs before the event is stored (Interrupt raises, Modify
    # event returns changed data); the action branch's outbox row is written with the customer's
    # UPDATE below (workflows.triggers.outbox_statement, PostgreSQL) or by register_event once the
    # event and its follow-ups are stored (workflows.triggers.after_store).
    data = workflow_triggers.before_store(
        result, program=program, environment=environment, customer=customer, action=spec.action,
        spec=spec, extra=extra, data=data, now=now, meta=meta,
    )  # fmt: skip
    # Secret attributes (opt-in passwords) reach the handler but are never stored on the event.
    secret = {attr.name for attr in spec.attributes if attr.secret}
    stored = {key: value for key, value in data.items() if key not in secret} if secret else data
    # The ledger computes (and validates) the points and expiration date stored on the event row
    # (loyalty.ledger.operations.PREPARE).
    points, expires_at = (custom.points if custom is not None else 0), None
    prepare = ledger.prepare_credit if custom is not None else ledger.PREPARE.get(spec.action)
    if prepare is not None:
        points, expires_at = prepare(
            data=data, points=points, account=account, program=program, now=now, earned_at=effective or now
        )
    event = emit(
        spec.action,
        data=stored,
        points=points,
        account=account,
        expires_at=expires_at,
        transaction_id=str(data.get("transaction_id") or ""),  # bounded by validation
    )
    result.event = event
    ctx = HandlerContext(
        event=event,
        customer=customer,
        program=program,
        account=account,
        data=data,
        now=now,
        result=result,
        emit=emit,
        environment=environment,
        source=meta["source"],
        admin_user=meta["admin_user"],
        spec=spec,
        extra_attrs=extra,
        balances=balance_rows,
        balances_complete=True,
        tier_rows=tier_rows,
    )
    # A tier or manual lock that ended is re-evaluated before the handler runs, so a reward
    # restricted to tiers, the tier events and the Customer API agree at every moment (§4).
    if program.tiers and spec.action != "tier_review" and tiers.expired_rows(tier_rows, now):
        tiers.evaluate(ctx)
    handler = custom_event_handler if custom is not None else HANDLERS[spec.action]
    handler(ctx)
    # Budgets and achievements: their counter statements (None when none is touched) are sent
    # with the customer update below, in one round trip, and settled after it.
    counting = count_profile_features(ctx)
    ledger_lots.after_event(ctx)  # any activity pushes dynamic point expiration dates
    if ctx.touched_points and program.tiers and customer.status != CustomerStatus.OPTED_OUT:
        tiers.evaluate(ctx)
    if spec.activity:
        customer.last_activity_at = now
        customer.updated_at = now
    elif _field_values(customer) != loaded:
        customer.updated_at = now  # not activity, but the profile changed
    # Write only what changed (nothing for a list membership): a shorter UPDATE, and a column
    # another writer changed under the same lock (a handler's queryset update) is not overwritten
    # with the value read at lock time.
    current = _field_values(customer)
    changed = [name for name, value in current.items() if loaded.get(name) != value]
    # The workflows' outbox row for the events stored so far rides along (one round trip).
    outbox_row = workflow_triggers.outbox_statement(result)
    if counting is None and outbox_row is None:
        fastsql.update(customer, changed)
    else:
        riders = [s for s in (fastsql.update_statement(customer, changed), outbox_row) if s is not None]
        rows = fastsql.returning_together(counting.statements if counting else [], riders)
        if counting is not None:
            settle_profile_features(ctx, counting, rows)  # may refuse the event (all rolls back)
    settle_event_points(result)
    result.status_after = customer.status
    # Every balance row of the customer is in this cache (loaded above, or created by the ledger
    # through it), and the ledger has written its changes: no query needed.
    result.balances_after = snapshot_rows(ctx.balances.values())
    result.tiers_after = tiers.snapshot(tiers.rows(ctx)) if program.tiers else {}
    return result


class ProfileCounting(NamedTuple):
    """The counters an event adds to: budgets.prepare's and achievements.prepare's work, and the
    statements of both (budgets' first) for fastsql.returning_together."""

    budget_work: list
    achievement_work: list
    statements: list[tuple[str, list]]


def count_profile_features(ctx: HandlerContext) -> ProfileCounting | None:
    """Per-customer budgets (budgets.enforcement) and achievement progress (achievements.progress)
    after the handler: the counter statements this registration needs, or None — no query and
    next to no work — when neither module has a definition touched by it. The engine sends the
    statements with the customer's UPDATE in one round trip (fastsql.returning_together), then
    calls settle_profile_features with their rows."""
    budget_work = budgets.prepare(ctx)
    achievement_work = achievements.prepare(ctx)
    if not budget_work and not achievement_work:
        return None
    statements = [item.statement for item in budget_work]
    statements += [statement for _achievement, statement in achievement_work if statement is not None]
    return ProfileCounting(budget_work, achievement_work, statements)


def settle_profile_features(ctx: HandlerContext, counting: ProfileCounting, rows: list) -> None:
    """After the counter statements ran (`rows`, one per statement): a budget passed refuses the
    event (BusinessRuleError: the whole registration rolls back), and achievements the hot path
    did not advance take the slow one (achievements.advance: a first run, a window over, a
    completion with its `achievement_completed` follow-up event)."""
    n = len(counting.budget_work)
    budgets.settle(ctx, counting.budget_work, rows[:n])
    achievements.settle(ctx, counting.achievement_work, rows[n:])


def settle_event_points(result: EventResult) -> None:
    """Make every event's `points` what it changed: the sum of its ledger entries
    for its own customer (earned +, spent / taken back -, pending credits +), its `account` the
    account those entries are in (when one), and its `expires_at` the expiry of the lots it
    created. An event whose stored figures already agree (point events, prepared by
    loyalty.ledger.PREPARE) costs nothing; the others (checkouts, refunds, reward claims,
    accepted transactions, items of a pending checkout that earned nothing yet) are settled in
    one UPDATE, a documented change (events.immutability.Change.SETTLE)."""
    owners = {event.pk: event.customer_id for event in result.events}
    sums: dict[int, int] = {}
    accounts: dict[int, set[int]] = {}
    for entry in result.ledger_entries:
        if entry.customer_id != owners.get(entry.event_id):
            continue  # a merge's lines for the other customer
        sums[entry.event_id] = sums.get(entry.event_id, 0) + entry.amount
        accounts.setdefault(entry.event_id, set()).add(entry.account_id)
    expiry: dict[int, dt.datetime] = {}
    for lot in result.lots_created:
        if lot.expires_at is not None and (
            lot.event_id not in expiry or lot.expires_at < expiry[lot.event_id]
        ):
            expiry[lot.event_id] = lot.expires_at
    changed = []
    for event in result.events:
        points = sums.get(event.pk, 0)
        expires_at = event.expires_at if event.expires_at is not None or points <= 0 else expiry.get(event.pk)
        used = accounts.get(event.pk, set())
        account_id = next(iter(used)) if len(used) == 1 else event.account_id
        if (points, expires_at, account_id) != (event.points, event.expires_at, event.account_id):
            event.points, event.expires_at, event.account_id = points, expires_at, account_id
            changed.append(event)
    if changed:
        with allow(Change.SETTLE):
            Event.objects.bulk_update(changed, ["points", "expires_at", "account"])


_CUSTOMER_FIELDS = tuple((f.name, f.attname) for f in Customer._meta.concrete_fields if not f.primary_key)


def _field_values(customer: Customer) -> dict:
    """{field name: value} of the customer's columns, read straight from the instance dict (every
    column is loaded by the lock query; a handler may only replace values, not mutate them)."""
    data = customer.__dict__
    return {name: data[attname] for name, attname in _CUSTOMER_FIELDS}


def _store_event(
    result,
    *,
    environment,
    customer,
    action,
    label,
    data,
    points,
    account,
    meta,
    now,
    effective,
    parent,
    expires_at,
    transaction_id,
):
    event = Event(
        environment=environment,
        customer=customer,
        action=action,
        label=label,
        timestamp=now,
        effective_at=effective or now,
        points=points,
        account=account,
        expires_at=expires_at,
        transaction_id=transaction_id,
        data=jsonable(data),
        parent=parent,
        **meta,
    )
    fastsql.insert(event)  # an insert is never an immutability breach; the ORM save costs ~1 ms CPU
    result.events.append(event)
    return event


def _lock_merge_pair(environment, customer_ref, external_id, source_ref) -> None:
    """Lock a merge's two customers in primary-key order, so that merging A into B while B is
    merged into A cannot deadlock. The handler re-reads both rows under these locks."""
    target_pk: int | None
    if isinstance(customer_ref, Customer):
        target_pk = customer_ref.pk
    else:
        target = find_customer(environment, customer_ref, external_id)
        target_pk = target.pk if target is not None else None
    if not isinstance(source_ref, str) or not source_ref:
        return
    try:
        source = find_customer(environment, source_ref)
    except EngineError:
        return  # the handler reports a bad source with the right field
    pks = sorted(pk for pk in {target_pk, source.pk if source else None} if pk is not None)
    for pk in pks:
        Customer.objects.select_for_update().filter(pk=pk).first()


def lock_customer(program, environment, customer_ref, external_id, spec, now) -> tuple[Customer, bool]:
    """Lock the customer row for this transaction, creating it when the program allows."""
    if isinstance(customer_ref, Customer):  # a workflow's or a handler's customer: by its pk
        customer = fastsql.first(Customer, "id = %s", [customer_ref.pk], lock=True)
        if customer is None or customer.anonymized_at is not None:
            raise CustomerNotFound("The customer has opted out or was merged away.", field="customer")
        return customer, False
    field, value = parse_customer_ref(customer_ref, external_id)
    customer = find_customer(environment, customer_ref, external_id, lock=True)
    if customer is not None:
        return customer, False
    if field is not None:
        raise CustomerNotFound(f"No customer with {field} {value!r}.", field="customer")
    if not CUSTOMER_ID_PATTERN.match(value):
        raise InvalidCustomerId(field="customer")
    if value.lower().startswith(ANONYMIZED_PREFIX):
        raise InvalidCustomerId(
            f"Customer IDs starting with {ANONYMIZED_PREFIX!r} are reserved for anonymized customers.",
            field="customer",
        )
    if spec.action != "opt_in" and not (program.anonymous_registration and spec.creates_customer):
        raise CustomerNotFound(f"Customer {value!r} not found.", field="customer")
    try:
        # A savepoint: when a concurrent first event for the same new ID wins the unique index,
        # only this insert rolls back and we wait for that transaction's lock instead.
        with transaction.atomic():
            customer = Customer.objects.create(
                environment=environment,
                customer_id=value,
                status=CustomerStatus.INACTIVE,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        customer = find_customer(environment, value, lock=True)
        if customer is None:
            raise
        return customer, False
    return customer, True


CUSTOMER_ID_PATTERN = re.compile(CUSTOMER_ID_RE)


def snapshot_rows(rows) -> dict[str, dict[str, int]]:
    snapshot = {}
    for balance in rows:
        account: PointAccount = account_by_id(balance.account_id)
        snapshot[account.code] = {
            "earned": balance.earned,
            "spent": balance.spent,
            "spendable": balance.spendable,
            "pending": balance.pending,
            "reserved": balance.reserved,
            "expired": balance.expired,
        }
    return snapshot


__all__ = ["register_event", "find_customer", "parse_customer_ref", "EngineError", "HANDLERS", "resolve_spec"]
