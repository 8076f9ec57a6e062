"""The one entry point for changing a customer's loyalty state: `register_event`.

    API / console / import / workflow
        -> register_event(environment=..., customer=..., action=..., data=..., source=...)
            validate the action and its attributes          (events.definitions, events.validation)
            resolve the customer and lock its row             (SELECT ... FOR UPDATE)
            store the event, apply its handler (HANDLERS)     (same transaction)
            re-evaluate tiers when earned points changed      (loyalty.tiers)
            schedule follow-up work on commit                 (django-q2)
        <- EventResult: what changed, explained; dry_run=True rolls it all back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction

from customers import lifecycle
from customers.choices import CustomerStatus
from customers.models import CUSTOMER_ID_RE, Customer, CustomField, ExternalId
from loyalty import clock, ledger, tiers
from loyalty.accounts import account_by_id, resolve_account
from loyalty.models import PointAccount, PointBalance, Program

from . import definitions
from .choices import EventSource
from .context import EventResult, HandlerContext
from .errors import (
    CustomerNotFound,
    EngineError,
    InternalAction,
    InvalidCustomerId,
    MissingParameter,
    UnknownAction,
    ValidationError,
)
from .models import Event, EventDefinition
from .validation import coerce, validate_data

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
    "change_expiration": ledger.change_expiration,
    "point_expire": ledger.point_expire,
    "point_activate": ledger.point_activate,
    # loyalty.tiers
    "tier_up": tiers.tier_up,
    "tier_down": tiers.tier_down,
    "tier_change": tiers.tier_change,
    "tier_expiration_change": tiers.tier_expiration_change,
}


def custom_event_handler(ctx: HandlerContext) -> None:
    """A custom event: store it, and award its configured points through the ledger."""
    points = ctx.event.points
    if points:
        ledger.credit(ctx, points)


class _DryRunRollback(Exception):
    def __init__(self, result: EventResult):
        self.result = result


def resolve_spec(action: str) -> tuple[definitions.ActionSpec, EventDefinition | None]:
    """The built-in spec of an action, or one made from a custom event definition."""
    if not isinstance(action, str) or not action:
        raise MissingParameter("Missing required parameter 'action'.", field="action")
    custom = None
    if action not in definitions.BUILTIN_ACTIONS or action not in HANDLERS:
        custom = (
            EventDefinition.objects.filter(action=action, active=True).prefetch_related("attributes").first()
        )
        if custom is None or custom.builtin_extension:
            raise UnknownAction(f"Unknown action {action!r}.", field="action")
        attrs = tuple(definitions.Attr(a.name, a.type, a.required) for a in custom.attributes.all())
        return definitions.ActionSpec(action, custom.label, attrs), custom
    spec = definitions.BUILTIN_ACTIONS[action]
    return spec, None


def extension_attrs(action: str) -> tuple[definitions.Attr, ...]:
    """Extra attributes the console added to a built-in action (Custom events module)."""
    definition = EventDefinition.objects.filter(action=action, builtin_extension=True, active=True).first()
    if definition is None:
        return ()
    return tuple(definitions.Attr(a.name, a.type, a.required) for a in definition.attributes.all())


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
    spec, custom = resolve_spec(action)
    if spec.internal and not internal:
        raise InternalAction(f"{action!r} is an internal event and cannot be registered.", field="action")
    if spec.console_only and source != EventSource.PLATFORM:
        raise ValidationError(f"{action!r} can only be registered from the console.", field="action")
    extra = extension_attrs(action) if custom is None else ()
    clean = validate_data(spec, data if data is not None else {}, extra)
    account_code = account or (clean.get("account") if isinstance(clean.get("account"), str) else None)
    effective = None
    if effective_timestamp not in (None, ""):
        effective = dt.datetime.fromisoformat(coerce("datetime", effective_timestamp, "effective_timestamp"))
    program = Program.current()
    point_account = resolve_account(account_code, multi_accounts=program.multi_accounts)

    try:
        with transaction.atomic():
            result = _apply(
                program=program,
                environment=environment,
                customer_ref=customer,
                external_id=external_id,
                spec=spec,
                custom=custom,
                data=clean,
                account=point_account,
                meta={
                    "source": source,
                    "admin_user": admin_user,
                    "workflow_id": workflow_id,
                    "reason": reason or str(clean.get("reason") or ""),
                    "ip_address": ip_address,
                    "user_agent": (user_agent or "")[:500],
                },
                effective=effective,
            )
            if dry_run:
                result.dry_run = True
                raise _DryRunRollback(result)
    except _DryRunRollback as rollback:
        return rollback.result
    return result


def _apply(*, program, environment, customer_ref, external_id, spec, custom, data, account, meta, effective):
    now = clock.now()
    customer, created = lock_customer(program, environment, customer_ref, external_id, spec.action, now)
    result = EventResult(customer=customer, customer_created=created)
    result.status_before = customer.status
    result.balances_before = balance_snapshot(customer)
    result.tiers_before = tiers.snapshot(customer) if program.tiers else {}

    def emit(action, data=None, points=0, account=None, parent=None, expires_at=None, transaction_id=""):
        return _store_event(
            result,
            environment=environment,
            customer=customer,
            action=action,
            label=definitions.BUILTIN_ACTIONS[action].label if action in definitions.BUILTIN_ACTIONS else action,
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

    points = custom.points if custom is not None else 0
    event = emit(
        spec.action,
        data=data,
        points=points,
        account=account,
        transaction_id=str(data.get("transaction_id") or "")[:128],
    )
    if custom is not None:
        event.label = custom.label
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
    )
    handler = custom_event_handler if custom is not None else HANDLERS[spec.action]
    handler(ctx)
    if ctx.touched_points and program.tiers and customer.status != CustomerStatus.OPTED_OUT:
        tiers.evaluate(ctx)
    customer.last_activity_at = now
    customer.updated_at = now
    customer.save()
    result.status_after = customer.status
    result.balances_after = balance_snapshot(customer)
    result.tiers_after = tiers.snapshot(customer) if program.tiers else {}
    if program.workflows:
        event_ids = [e.pk for e in result.events]
        transaction.on_commit(lambda: _schedule_workflows(event_ids))
    return result


def _store_event(result, *, environment, customer, action, label, data, points, account, meta, now, effective,
                 parent, expires_at, transaction_id):
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
        data=_jsonable(data),
        parent=parent,
        **meta,
    )
    event.save(force_insert=True)
    result.events.append(event)
    return event


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value) if value != value.to_integral_value() else int(value)
    return value


def _schedule_workflows(event_ids):
    from django_q.tasks import async_task

    async_task("workflows.tasks.run_for_events", event_ids)


def parse_customer_ref(customer_ref: str, external_id: str | None) -> tuple[str | None, str]:
    """(external field or None, value). `field:value` is an external ID anywhere an ID is accepted."""
    if not isinstance(customer_ref, str) or not customer_ref:
        raise MissingParameter("Missing required parameter 'customer'.", field="customer")
    if external_id:
        return external_id, customer_ref
    if ":" in customer_ref:
        field, value = customer_ref.split(":", 1)
        return field, value
    return None, customer_ref


def find_customer(environment: str, customer_ref: str, external_id: str | None = None, *, lock=False):
    """The live (non-anonymized) customer an ID or `field:value` names, or None."""
    field, value = parse_customer_ref(customer_ref, external_id)
    queryset = Customer.objects.filter(environment=environment, anonymized_at__isnull=True)
    if lock:
        queryset = queryset.select_for_update()
    if field is None:
        return queryset.filter(customer_id=value).first()
    if not CustomField.objects.filter(name=field, external_id=True).exists():
        raise ValidationError(f"{field!r} is not an external ID field.", field="external_id")
    pk = (
        ExternalId.objects.filter(environment=environment, field=field, value=value)
        .values_list("customer_id", flat=True)
        .first()
    )
    return queryset.filter(pk=pk).first() if pk else None


def lock_customer(program, environment, customer_ref, external_id, action, now) -> tuple[Customer, bool]:
    """Lock the customer row for this transaction, creating it when the program allows."""
    if isinstance(customer_ref, Customer):
        return Customer.objects.select_for_update().get(pk=customer_ref.pk), False
    field, value = parse_customer_ref(customer_ref, external_id)
    customer = find_customer(environment, customer_ref, external_id, lock=True)
    if customer is not None:
        return customer, False
    if field is not None:
        raise CustomerNotFound(f"No customer with {field} {value!r}.", field="customer")
    if not _valid_customer_id(value):
        raise InvalidCustomerId(field="customer")
    if action != "opt_in" and not program.anonymous_registration:
        raise CustomerNotFound(f"Customer {value!r} not found.", field="customer")
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                environment=environment,
                customer_id=value,
                status=CustomerStatus.INACTIVE,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # Another request created it first; wait for its lock and use it.
        customer = find_customer(environment, value, lock=True)
        if customer is None:
            raise
        return customer, False
    return customer, True


def _valid_customer_id(value: str) -> bool:
    import re

    return bool(re.match(CUSTOMER_ID_RE, value))


def balance_snapshot(customer: Customer) -> dict[str, dict[str, int]]:
    snapshot = {}
    for balance in PointBalance.objects.filter(customer=customer):
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


__all__ = ["register_event", "find_customer", "EngineError", "HANDLERS"]
