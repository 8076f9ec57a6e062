"""`record()`: the one function that appends to the change log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from loyalty import clock

from .models import ChangeLogEntry


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


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
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        event=event,
    )
