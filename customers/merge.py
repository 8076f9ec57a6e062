"""Merging two profiles of one person (000, "Merging customer profiles").

The merge event is registered on the TARGET (the profile that stays) with data.source naming the
other one. The engine has locked both rows in primary-key order (no deadlock when two merges
cross). Then:

- the source's whole event history moves to the target (`allow(Change.MERGE)`: only the event's
  customer changes), and `loyalty.ledger.lots.merge_into` moves lots, balances and ledger history;
- purchase figures add up, and customers the source referred now name the target;
- mode "full" also copies each custom attribute (and external ID) the target has no value for,
  and adds the source's labels; "partial" (the default) copies no custom attributes;
- the source ends anonymized: status opted_out, merged_into = target, ID hashed and free.

Suspended customers cannot be merged (000); banned ones neither, so a ban cannot be shed by
merging into a clean profile.
"""

from __future__ import annotations

from events.immutability import Change, allow
from events.models import Event
from loyalty.context import HandlerContext
from loyalty.errors import CustomerNotFound, StatusForbids, ValidationError
from loyalty.ledger import lots as ledger_lots

from .attributes import set_external_id
from .choices import CustomerStatus
from .fields import custom_fields
from .hooks import CUSTOMER_MERGERS, call_hooks
from .lookup import REFERRAL_COUNT, find_customer
from .models import Customer, ExternalId
from .privacy import anonymize

MODES = ("partial", "full")


UNMERGEABLE = (CustomerStatus.SUSPENDED, CustomerStatus.BANNED)


def refusal(customer: Customer, role: str) -> str | None:
    """Why `customer` cannot take part in a merge as `role` ("target"/"source"), or None. The
    console asks before its confirmation page; the handler enforces it."""
    if customer.status in UNMERGEABLE:
        return f"The {role} customer is {customer.status} and cannot be merged."
    return None


def merge(ctx: HandlerContext) -> None:

    target: Customer = ctx.customer
    mode = str(ctx.data.get("mode") or "partial").lower()
    if mode not in MODES:
        raise ValidationError("The merge mode must be 'partial' or 'full'.", field="data.mode")
    source = _source(ctx)
    for role, customer in (("target", target), ("source", source)):
        message = refusal(customer, role)
        if message:
            raise StatusForbids(
                message,
                field="customer" if role == "target" else "data.source",
                code=120030 if role == "target" else 120031,  # the reference's numbers (§8.4)
            )

    with allow(Change.MERGE):
        moved = Event.objects.filter(customer=source).update(customer=target)
    ledger_lots.merge_into(ctx, source)
    _add_purchases(target, source)
    Customer.objects.filter(referrer=source).exclude(pk=target.pk).update(referrer=target)
    Customer.objects.filter(pk=target.pk, referrer=source).update(referrer=None)
    target.__dict__.pop(REFERRAL_COUNT, None)  # the count read with the lock is out of date now
    if target.referrer_id == source.pk:
        target.referrer = None
    if mode == "full":
        _copy_custom(target, source)
        target.labels.add(*source.labels.all())
    call_hooks(CUSTOMER_MERGERS, source, target)

    source_id = source.customer_id
    anonymize(source, now=ctx.now, merged_into=target)
    source.updated_at = ctx.now
    source.save()
    ctx.result.extra["merge"] = {
        "source": source_id,
        "source_anonymous_id": source.customer_id,
        "mode": mode,
        "events_moved": moved,
    }


def _source(ctx: HandlerContext) -> Customer:
    reference = ctx.data.get("source")
    try:
        source = find_customer(ctx.environment, reference, lock=True)
    except ValidationError as error:
        raise ValidationError(error.message, field="data.source") from None
    if source is None:
        raise CustomerNotFound(f"No customer {reference!r} to merge.", field="data.source")
    if source.pk == ctx.customer.pk:
        raise ValidationError("A customer cannot be merged into itself.", field="data.source")
    return source


def _add_purchases(target: Customer, source: Customer) -> None:
    target.purchase_total += source.purchase_total
    target.purchase_count += source.purchase_count
    target.purchase_items += source.purchase_items
    dates = [d for d in (target.purchase_last_date, source.purchase_last_date) if d]
    target.purchase_last_date = max(dates) if dates else None


def _copy_custom(target: Customer, source: Customer) -> None:
    """Full merge: a custom attribute populated on both keeps the target's value (000)."""
    fields = custom_fields()
    custom = dict(target.custom or {})
    source_external = dict(ExternalId.objects.filter(customer=source).values_list("field", "value"))
    for name, value in (source.custom or {}).items():
        if custom.get(name) not in (None, ""):
            continue
        custom[name] = value
        field = fields.get(name)
        if field is not None and field.external_id and name in source_external:
            # Free the source's index row first: the value is unique per environment.
            ExternalId.objects.filter(customer=source, field=name).delete()
            set_external_id(target, name, value)
    target.custom = custom
