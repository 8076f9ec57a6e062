"""The documented changes to stored events, and the guard that refuses any other.

SETTLE: within the transaction that stores an event, the engine sets the event's
`points` (and `expires_at`) to what its ledger entries changed, once the handler has run.

Use `with allow(Change.EXPIRATION): ...` inside the one function that owns the change. On
PostgreSQL the guard also sets the transaction-local setting `loyalty.event_change`, which the
database trigger requires for UPDATE; DELETE is always refused.
"""

import contextlib
import contextvars
import enum

from django.db import connection


class EventImmutableError(Exception):
    pass


class Change(enum.Enum):
    EXPIRATION = "expiration"
    ANONYMIZE = "anonymize"
    MERGE = "merge"
    SETTLE = "settle"


_allowed: contextvars.ContextVar[Change | None] = contextvars.ContextVar("event_change", default=None)


def change_allowed() -> bool:
    return _allowed.get() is not None


@contextlib.contextmanager
def allow(change: Change):
    """Must run inside transaction.atomic(): the database setting is transaction-local."""
    token = _allowed.set(change)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('loyalty.event_change', %s, true)", [change.value])
    try:
        yield
    finally:
        _allowed.reset(token)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('loyalty.event_change', '', true)")
