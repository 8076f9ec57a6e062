"""`record()`: the one function that appends to the change log."""

from __future__ import annotations

from loyalty import clock
from loyalty.jsonable import jsonable

from .models import ChangeLogEntry


def record(
    *,
    user,
    action: str,
    environment: str,
    customer=None,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
    event=None,
    object_repr: str = "",
) -> ChangeLogEntry:
    """Append one change. Call it in the same transaction as the change it describes."""
    return ChangeLogEntry.objects.create(
        created_at=clock.now(),
        user=user if getattr(user, "is_authenticated", False) else None,
        environment=environment,
        action=action,
        customer=customer,
        object_repr=(object_repr or (customer.customer_id if customer is not None else ""))[:200],
        reason=reason,
        before=jsonable(before or {}),
        after=jsonable(after or {}),
        event=event,
    )
