"""The outbox of the Event triggers' action branches (`PendingTrigger` rows; docs/workflows.md,
"Post-commit actions").

- `statement` / `record` (workflows.triggers.outbox_statement, sent by the engine with the
  customer's UPDATE on PostgreSQL; workflows.triggers.after_store otherwise), inside the event's
  transaction: one row for the event and its follow-ups, so the action branch commits or rolls
  back with the event (a process dying between the commit and the queueing loses nothing), and
  on commit `schedule_drain`.
- `schedule_drain`: queues a drain task (workflows.tasks.drain_outbox) unless one is already
  queued or running. With the queue on Redis (REDIS_URL) there are `slots()` drains at most,
  one per django-q2 worker, each holding a slot key taken with an atomic SET NX in the queue's
  Redis (a commit tries one slot, the process's next in turn: one round trip); a drain gives its
  slot back, waits `LOOK_AGAIN_SECONDS`, and looks at the outbox a last time, so a row committed
  while every slot was held is always seen by some drain. A process whose take failed (a drain
  held the slot) skips the round trip for the commits it finishes within `SKIP_SECONDS` of that
  attempt (`schedule_drain`): the holder's last look comes after those commits (see `schedule_drain`).
  Without Redis (the local ORM broker, tests: nothing shared to hold the keys) every commit
  queues a drain: correct, not coalesced.
- `claim`: a drain takes up to BATCH due rows (oldest first) by moving them `lease()` seconds
  ahead. On PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED`: two drains never wait for each
  other or take the same rows; SQLite serializes its writers anyway. A drain that dies leaves
  its rows to come back when the lease ends (the tick's recovery).
- `done` deletes the walked rows; `failed` keeps a row whose walk raised, with its attempt count,
  the error (`describe`: the exception's type and where it was raised, never its message, which
  may quote personal data) and a pause that doubles per attempt (RETRY_SECONDS ..
  MAX_RETRY_SECONDS), so it never blocks the other rows nor spins. After `max_attempts()`
  failures (setting OUTBOX_MAX_ATTEMPTS, default 12: about 7 hours of pauses) the row is parked
  as failed (`failed_at`): no drain takes it until someone retries or discards it
  (workflows.pending, the console's Pending triggers page, the API).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import traceback
from pathlib import Path
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.tasks import async_task

from loyalty import fastsql

from .models import PendingTrigger

DRAIN_TASK = "workflows.tasks.drain_outbox"
BATCH = 50
SLOT_KEY = "workflows:outbox-drain:{}"
RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 3600
# A failed take lets this process's commits skip the Redis round trip for SKIP_SECONDS; a drain
# waits LOOK_AGAIN_SECONDS (longer) between giving its slot back and its last look.
SKIP_SECONDS = 0.02
LOOK_AGAIN_SECONDS = 0.03


def record(environment: str, event_ids: list[int], depth: int, origin, main_event_id, modifier_logs) -> None:
    """The outbox row of an event's action branches, in the caller's (the event's) transaction."""
    fastsql.insert(_row(environment, event_ids, depth, origin, main_event_id, modifier_logs))
    transaction.on_commit(schedule_drain)


def statement(environment: str, event_ids: list[int], depth: int, origin, main_event_id, modifier_logs):
    """`record`'s INSERT as (sql, params) for the caller to send (the engine sends it with the
    customer's UPDATE, in one round trip on PostgreSQL); a drain is scheduled on commit."""
    transaction.on_commit(schedule_drain)
    return fastsql.insert_statement(_row(environment, event_ids, depth, origin, main_event_id, modifier_logs))


def _row(environment, event_ids, depth, origin, main_event_id, modifier_logs) -> PendingTrigger:
    now = timezone.now()
    return PendingTrigger(
        environment=environment,
        event_ids=event_ids,
        depth=depth,
        origin=origin,
        main_event_id=main_event_id,
        modifier_logs=modifier_logs,
        created_at=now,
        available_at=now,
    )


_turn = itertools.count()


def slots() -> int:
    """Drains at most queued or running at once: one per django-q2 worker."""
    return max(1, int(settings.Q_CLUSTER.get("workers") or 1))


def _redis():
    """The Redis client of django-q2's queue when the queue is on Redis (production): the slot
    keys live there, shared by every process. A SET NX on it costs ~0.17 ms of CPU a commit;
    Django's `cache.add` ~0.42 ms (its Redis backend builds a new client for every call)."""
    broker = _broker()
    return broker.connection if isinstance(broker, RedisBroker) else None


def coalescing() -> bool:
    """Whether the slot keys are shared by every process (the queue's Redis)."""
    return _redis() is not None


def _take(slot: int) -> bool:
    key, seconds = SLOT_KEY.format(slot), _slot_seconds()
    client = _redis()
    if client is None:  # coalescing forced without Redis (tests): the process's cache
        return bool(cache.add(key, 1, seconds))
    return bool(client.set(key, 1, nx=True, ex=seconds))


def lease() -> dt.timedelta:
    """How long a drain owns the rows it claimed: django-q2's task timeout (a drain running
    longer is killed, and its rows come back)."""
    return dt.timedelta(seconds=int(settings.Q_CLUSTER.get("timeout") or 300))


def _slot_seconds() -> int:
    # A slot key outlives a drain that was lost before it could give it back by this much.
    return int(lease().total_seconds()) + 60


_held_seen_at = -1.0  # monotonic() before this process's last failed take (a slot held)


def schedule_drain(*, force: bool = False) -> None:
    """Queue a drain for the rows committed so far (called on commit). `force`: never skip (a
    drain handing over to a fresh one: it was the holder whose last look the skip relies on).

    The skip (0.05 ms of CPU a commit saved under load): this process read its clock at t0, then
    tried a slot and found it held by a drain D; the commit now finishing read the clock after it
    committed, at t < t0 + SKIP_SECONDS. D gives the slot back after t0 and only then waits
    LOOK_AGAIN_SECONDS (> SKIP_SECONDS) before its last look, which so starts after t and sees
    this commit's row. A pause of this process only moves t later (no skip then). A drain lost
    while holding its slot is the tick's, as it was before the skip."""
    global _held_seen_at
    if not coalescing():
        _queue(None)
        return
    started = monotonic()
    if not force and started - _held_seen_at < SKIP_SECONDS:
        return
    # One Redis round trip per commit: this process's next slot in turn. When it is held, the
    # drain holding it has not yet given it back, so it will see this row; other commits (of
    # this process and others) take the other slots, so every worker gets a drain.
    slot = next(_turn) % slots()
    if _take(slot):
        _queue(slot)
    else:
        _held_seen_at = started


def wait_before_last_look() -> None:
    """A drain that gave its slot back waits this long before its last look (`schedule_drain`)."""
    time.sleep(LOOK_AGAIN_SECONDS)


def hold(slot: int) -> bool:
    """Take `slot` again (a drain that found rows after giving it back); False: taken meanwhile."""
    return _take(slot)


def release(slot: int | None) -> None:
    if slot is None:
        return
    client = _redis()
    if client is None:
        cache.delete(SLOT_KEY.format(slot))
    else:
        client.delete(SLOT_KEY.format(slot))


def clear_slots() -> None:
    """Give every slot back (a benchmark starting over; a drain still running takes its own again)."""
    for slot in range(slots()):
        release(slot)


_brokers: dict[str, object] = {}


def _broker():
    """One django-q2 broker per process: building one per task opened a new Redis connection
    (about 4 ms of CPU)."""
    broker = _brokers.get("default")
    if broker is None:
        broker = _brokers["default"] = get_broker()
    return broker


def _queue(slot: int | None) -> None:
    async_task(
        DRAIN_TASK,
        slot,
        task_name="workflows-outbox" if slot is None else f"workflows-outbox-{slot}",
        broker=_broker(),
        # No success record in django-q2's tables: the run log is the record, and saving one cost
        # the cluster's monitor a transaction per task. Failures are still saved.
        save=False,
    )


def claim(limit: int = BATCH, *, older_than: dt.timedelta | None = None) -> list[PendingTrigger]:
    """Up to `limit` due rows (created at least `older_than` ago), moved a lease ahead."""
    now = timezone.now()
    with transaction.atomic():
        due = PendingTrigger.objects.filter(available_at__lte=now, failed_at__isnull=True)
        if older_than is not None:
            due = due.filter(created_at__lte=now - older_than)
        rows = list(due.select_for_update(skip_locked=True).order_by("id")[:limit])
        if rows:
            PendingTrigger.objects.filter(pk__in=[row.pk for row in rows]).update(available_at=now + lease())
    return rows


def done(ids: list[int]) -> None:
    if ids:
        PendingTrigger.objects.filter(pk__in=ids).delete()


def max_attempts() -> int:
    """Failed attempts after which a row is parked as failed (OUTBOX_MAX_ATTEMPTS, at least 1)."""
    return max(1, int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 12)))


def failed(row: PendingTrigger, error: BaseException) -> bool:
    """Keep the row for a later attempt, after a pause that doubles with each failure; after
    `max_attempts()` failures park it as failed instead. Returns True when it was parked."""
    attempts = row.attempts + 1
    pause = min(RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    now = timezone.now()
    parked = attempts >= max_attempts()
    PendingTrigger.objects.filter(pk=row.pk).update(
        attempts=attempts,
        error=describe(error),
        available_at=now + dt.timedelta(seconds=pause),
        failed_at=now if parked else None,
    )
    return parked


def describe(error: BaseException) -> str:
    """What is stored (and shown) of a failure: the exception's type, its engine code when it
    has one, and the innermost frame (file:line in function). Never the message: a database
    error or an engine refusal may quote a customer's data. E.g.
    ``IntegrityError at runner.py:173 in _run_action``."""
    kind = type(error).__name__
    code = getattr(error, "code", None)
    text = f"{kind} {code}" if isinstance(code, int) else kind
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    if frames:
        frame = frames[-1]
        text += f" at {Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    return text[:500]
