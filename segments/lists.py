"""Customer lists: the `customer_list_add` / `customer_list_remove` handlers and list status rules.

Membership changes only through the two events (events.engine.HANDLERS), so every change shows
in the customer's Events tab with its source, admin user and reason. The handlers run with the
customer row locked and the event stored in the same transaction (events.engine):

- customer_list_add: data.list (list ID) must name an active list; a customer already on the
  list is refused (Conflict 160409, so a bulk add reports it per customer and changes nothing).
- customer_list_remove: the list must not be archived; a customer not on it is refused (NotFound).

Status rules (Antavo, "Customer lists"; reference-behaviour.md §2.2): active <-> inactive;
archiving is allowed only for an inactive list, removes every member and cannot be undone.
This module does not import the engine (a domain module).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from loyalty import clock
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, MissingParameter, NotFound, ValidationError

from .models import CustomerList, CustomerListMember, Status


def _list(ctx: HandlerContext) -> CustomerList:
    if not ctx.program.module_enabled("segments"):
        raise BusinessRuleError(
            "The Segments module is off: customer lists are not available.", field="action"
        )
    ref = ctx.data.get("list")
    if ref in (None, ""):
        raise MissingParameter("Missing required attribute 'list'.", field="data.list")
    text = str(ref).strip()
    if not text.isdigit() or len(text) > 18:
        raise ValidationError(f"List {ref!r} is not a list ID.", field="data.list")
    found = CustomerList.objects.filter(pk=int(text)).first()
    if found is None:
        raise NotFound(f"Customer list {ref!r} does not exist.", field="data.list")
    return found


def customer_list_add(ctx: HandlerContext) -> None:
    """Add the (locked) customer to data.list."""
    customer_list = _list(ctx)
    if customer_list.status != Status.ACTIVE:
        raise BusinessRuleError(
            f"Customer list {customer_list.name!r} is {customer_list.status}: only active lists take members.",
            field="data.list",
        )
    try:
        with transaction.atomic():
            CustomerListMember.objects.create(
                customer_list=customer_list, customer=ctx.customer, added_at=ctx.now, event_id=ctx.event.pk
            )
    except IntegrityError:
        raise Conflict(
            f"The customer is already on the list {customer_list.name!r}.", field="data.list"
        ) from None
    ctx.result.extra["customer_list"] = customer_list


def customer_list_remove(ctx: HandlerContext) -> None:
    """Remove the (locked) customer from data.list."""
    customer_list = _list(ctx)
    if customer_list.status == Status.ARCHIVED:
        raise BusinessRuleError(f"Customer list {customer_list.name!r} is archived.", field="data.list")
    deleted, _ = CustomerListMember.objects.filter(
        customer_list=customer_list, customer=ctx.customer
    ).delete()
    if not deleted:
        raise NotFound(f"The customer is not on the list {customer_list.name!r}.", field="data.list")
    ctx.result.extra["customer_list"] = customer_list


def set_status(customer_list: CustomerList, status: str) -> CustomerList:
    """Change a list's status under its row lock. Archiving: only from inactive, removes the members,
    irreversible. Raises BusinessRuleError (field ``status``) for a transition the rules refuse."""
    if status not in Status.values:
        raise ValidationError(f"Unknown status {status!r}.", field="status")
    with transaction.atomic():
        locked = CustomerList.objects.select_for_update().get(pk=customer_list.pk)
        if locked.status == Status.ARCHIVED:
            raise BusinessRuleError("An archived list cannot be changed.", field="status")
        if status == Status.ARCHIVED:
            if locked.status != Status.INACTIVE:
                raise BusinessRuleError(
                    "Only an inactive list can be archived; inactivate it first.", field="status"
                )
            CustomerListMember.objects.filter(customer_list=locked).delete()
            locked.archived_at = clock.now()
        locked.status = status
        locked.save(update_fields=["status", "archived_at", "updated_at"])
    return locked


def lists_of(customer_pk: int) -> list[CustomerList]:
    """The customer's lists (index list_member_customer)."""
    return list(CustomerList.objects.filter(memberships__customer_id=customer_pk))
