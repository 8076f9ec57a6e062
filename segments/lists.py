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
from loyalty.bounds import is_digits
from loyalty.context import HandlerContext
from loyalty.errors import BusinessRuleError, Conflict, MissingParameter, NotFound, ValidationError

from .models import CustomerList, CustomerListMember, Status


def _list(ctx: HandlerContext) -> CustomerList:
    return _list_for(ctx.program, ctx.data)


def _list_for(program, data: dict) -> CustomerList:
    if not program.module_enabled("segments"):
        raise BusinessRuleError(
            "The Segments module is off: customer lists are not available.", field="action"
        )
    ref = data.get("list")
    if ref in (None, ""):
        raise MissingParameter("Missing required attribute 'list'.", field="data.list")
    text = str(ref).strip()
    if not is_digits(text):
        raise ValidationError(f"List {ref!r} is not a list ID.", field="data.list")
    found = CustomerList.objects.filter(pk=int(text)).first()
    if found is None:
        raise NotFound(f"Customer list {ref!r} does not exist.", field="data.list")
    return found


def _addable(customer_list: CustomerList) -> CustomerList:
    if customer_list.status != Status.ACTIVE:
        raise BusinessRuleError(
            f"Customer list {customer_list.name!r} is {customer_list.status}: only active lists take members.",
            field="data.list",
        )
    return customer_list


def _removable(customer_list: CustomerList) -> CustomerList:
    if customer_list.status == Status.ARCHIVED:
        raise BusinessRuleError(f"Customer list {customer_list.name!r} is archived.", field="data.list")
    return customer_list


def _already_on(customer_list: CustomerList) -> Conflict:
    return Conflict(f"The customer is already on the list {customer_list.name!r}.", field="data.list")


def _not_on(customer_list: CustomerList) -> NotFound:
    return NotFound(f"The customer is not on the list {customer_list.name!r}.", field="data.list")


def customer_list_add(ctx: HandlerContext) -> None:
    """Add the (locked) customer to data.list."""
    customer_list = _addable(_list(ctx))
    try:
        with transaction.atomic():
            CustomerListMember.objects.create(
                customer_list=customer_list, customer=ctx.customer, added_at=ctx.now, event_id=ctx.event.pk
            )
    except IntegrityError:
        raise _already_on(customer_list) from None
    ctx.result.extra["customer_list"] = customer_list


def customer_list_remove(ctx: HandlerContext) -> None:
    """Remove the (locked) customer from data.list."""
    customer_list = _removable(_list(ctx))
    deleted, _ = CustomerListMember.objects.filter(
        customer_list=customer_list, customer=ctx.customer
    ).delete()
    if not deleted:
        raise _not_on(customer_list)
    ctx.result.extra["customer_list"] = customer_list


# --- the set-based forms of the two handlers (events.sets) -----------------------------------------
# The same rules as the handlers above, for many customers at once, with their rows locked by the
# caller: `prepare` checks the list once (its refusal applies to every customer), `refusals` finds
# the customers one event would refuse (already on / not on the list), `apply` changes the rest in
# one statement, given each customer's stored event; `apply_sql` is that statement for PostgreSQL,
# run in the same statement as the events' insert (reading them from `stored`).


class ListAddSet:
    @staticmethod
    def prepare(program, data: dict) -> CustomerList:
        return _addable(_list_for(program, data))

    @staticmethod
    def refusals(customer_list: CustomerList, customer_pks: list[int]) -> dict[int, Conflict]:
        on = CustomerListMember.objects.filter(customer_list=customer_list, customer_id__in=customer_pks)
        return {pk: _already_on(customer_list) for pk in on.values_list("customer_id", flat=True)}

    @staticmethod
    def apply(customer_list: CustomerList, event_ids: dict[int, int], now) -> None:
        CustomerListMember.objects.bulk_create(
            [
                CustomerListMember(
                    customer_list=customer_list, customer_id=pk, added_at=now, event_id=event_id
                )
                for pk, event_id in event_ids.items()
            ],
            batch_size=5000,
        )

    @staticmethod
    def apply_sql(customer_list: CustomerList, now) -> tuple[str, list]:
        """`apply` as one statement over `stored(customer_id, event_id)` (events.sets, PostgreSQL)."""
        return (
            f"INSERT INTO {CustomerListMember._meta.db_table} (customer_list_id, customer_id, added_at, "
            "event_id) SELECT %s, customer_id, %s, event_id FROM stored",
            [customer_list.pk, now],
        )


class ListRemoveSet:
    @staticmethod
    def prepare(program, data: dict) -> CustomerList:
        return _removable(_list_for(program, data))

    @staticmethod
    def refusals(customer_list: CustomerList, customer_pks: list[int]) -> dict[int, NotFound]:
        on = set(
            CustomerListMember.objects.filter(
                customer_list=customer_list, customer_id__in=customer_pks
            ).values_list("customer_id", flat=True)
        )
        return {pk: _not_on(customer_list) for pk in customer_pks if pk not in on}

    @staticmethod
    def apply(customer_list: CustomerList, event_ids: dict[int, int], now) -> None:
        CustomerListMember.objects.filter(
            customer_list=customer_list, customer_id__in=list(event_ids)
        ).delete()

    @staticmethod
    def apply_sql(customer_list: CustomerList, now) -> tuple[str, list]:
        """`apply` as one statement over `stored(customer_id, event_id)` (events.sets, PostgreSQL)."""
        return (
            f"DELETE FROM {CustomerListMember._meta.db_table} WHERE customer_list_id = %s "
            "AND customer_id IN (SELECT customer_id FROM stored)",
            [customer_list.pk],
        )


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
