"""Idempotent retries: `Idempotency-Key` on a POST returns the first response and never applies
the request twice — even when the process handling it dies.

Claiming a key
    PostgreSQL: a session advisory lock on (API key, key) is the mutex. It is taken before the
    record is read or inserted and held until the response is stored; it dies with the database
    connection, so a worker killed mid-request (kill -9, OOM, lost connection) frees its key at
    once. A retry that gets the lock and finds an `in_progress` record knows its owner is gone
    (nothing was committed: see below) and takes it over; a retry that does not get the lock waits
    for the owner's response (at most WAIT_SECONDS, then 409) and replays it.
    SQLite (development, tests): no advisory locks; an `in_progress` record older than the lease
    (API_IDEMPOTENCY_LEASE_SECONDS, 30 s) is taken over with a compare-and-set on `created_at`.

Completing a key
    The API view runs the handler in one transaction and stores the response in the record inside
    that same transaction (`complete`), so the event and "this key's response" commit together or
    not at all: a record can stay `in_progress` only if nothing was committed. Errors (4xx) are
    stored after the fact by `finish`; a server error (5xx) gives the key back (the record is
    deleted) so a retry runs the request. Bulk requests register each event in its own transaction:
    their record is stored after the batch (a crash mid-batch lets the retry re-run the batch).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse

from loyalty import clock

from . import errors
from .models import IdempotencyRecord, IdempotencyStatus

log = logging.getLogger("loyalty.api")

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "API_IDEMPOTENCY_LEASE_SECONDS", 30))


def retention() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "API_IDEMPOTENCY_RETENTION_HOURS", 48))


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode("utf-8", "replace") + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


class Replay(Exception):
    """Raised from the view's `initial()`: answer with the stored response."""

    def __init__(self, record: IdempotencyRecord):
        self.record = record

    def response(self) -> HttpResponse:
        response = HttpResponse(
            bytes(self.record.response_body or b""),
            status=self.record.response_status,
            content_type="application/json",
        )
        response["Idempotent-Replayed"] = "true"
        return response


def _uses_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


def lock_id(api_key_id: int, key: str) -> int:
    """A signed 64-bit advisory lock number for (API key, key)."""
    digest = hashlib.sha256(f"idempotency:{api_key_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(number: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [number])
        return bool(cursor.fetchone()[0])


def _unlock(number: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [number])
    except DatabaseError:  # the connection is gone, and the lock with it
        log.warning("Could not release idempotency lock %s (connection lost)", number)


def _claim(api_key, key: str, digest: str) -> tuple[IdempotencyRecord | None, bool]:
    """(record, created): the new record, or the in-progress one (created False); raise
    Replay/Mismatch. (None, False) when another request inserted it first: try again."""
    existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    api_key=api_key, key=key, fingerprint=digest, created_at=clock.now()
                )
                return record, True
        except IntegrityError:
            return None, False
    if existing.fingerprint != digest:
        raise errors.IdempotencyMismatch(field="Idempotency-Key")
    if existing.status == IdempotencyStatus.COMPLETE:
        raise Replay(existing)
    return existing, False


def begin(api_key, key: str, request) -> IdempotencyRecord:
    """Claim the key for this request, or raise Replay / IdempotencyMismatch / IdempotencyInProgress.

    The returned record is this request's: new, or taken over from a request that died."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise errors.MalformedRequest(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    digest = fingerprint(request)
    deadline = time.monotonic() + WAIT_SECONDS
    advisory = _uses_advisory_locks()
    number = lock_id(api_key.pk, key)
    while True:
        if advisory:
            if _try_lock(number):
                try:
                    record, created = _claim(api_key, key, digest)
                    if record is None:  # pragma: no cover - all claimants hold the lock first
                        raise errors.IdempotencyInProgress(field="Idempotency-Key")
                except BaseException:
                    _unlock(number)
                    raise
                if not created:
                    log.warning("Idempotency key %s: taking over from a request that died", record.pk)
                record.lock_id = number  # type: ignore[attr-defined]
                return record
            existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
            if existing is not None:
                if existing.fingerprint != digest:
                    raise errors.IdempotencyMismatch(field="Idempotency-Key")
                if existing.status == IdempotencyStatus.COMPLETE:
                    raise Replay(existing)
        else:
            record, created = _claim(api_key, key, digest)
            if record is not None and (created or _take_over(record)):
                return record
        if time.monotonic() > deadline:
            raise errors.IdempotencyInProgress(field="Idempotency-Key")
        time.sleep(POLL_SECONDS)


def _take_over(record: IdempotencyRecord) -> bool:
    """SQLite: an in-progress record past its lease belongs to a request that died; claim it
    (compare-and-set, so one retry wins)."""
    now = clock.now()
    if record.created_at > now - lease():
        return False
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, created_at=record.created_at
    ).update(created_at=now)
    if taken:
        log.warning("Idempotency key %s: taking over from a request that died", record.pk)
        record.created_at = now
    return bool(taken)


def complete(record: IdempotencyRecord, status: int, body: bytes) -> None:
    """Store the response; called inside the transaction that registered the request's events."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.COMPLETE,
        response_status=status,
        response_body=body,
        completed_at=clock.now(),
    )
    record.status = IdempotencyStatus.COMPLETE


def finish(record: IdempotencyRecord, response) -> None:
    """After the response: store it if `complete` did not (errors below 500, bulk requests), or give
    the key back after a server error; then release the lock. Never raises: the response stands."""
    try:
        if record.status != IdempotencyStatus.COMPLETE:
            if response.status_code >= 500:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
            else:
                complete(record, response.status_code, bytes(response.content))
    except DatabaseError:
        log.exception("Could not store the idempotent response of record %s", record.pk)
    finally:
        number = getattr(record, "lock_id", None)
        if number is not None:
            _unlock(number)


# ---------------------------------------------------------------------------------------------
# Bulk requests with a key: each item exactly once. The items of `/api/events/bulk` and
# `/api/entities` commit one by one (the reference processes them individually), so the request's
# own record is completed only after the batch. Each applied item therefore stores its result in
# an item record, in the same transaction as its events; a retry of a batch whose process died
# replays the items already applied and runs only the others.


def _item_key(record: IdempotencyRecord, index: int) -> str:
    return f"bulk-item:{hashlib.sha256(record.key.encode()).hexdigest()}:{index}"


def applied_items(record: IdempotencyRecord | None) -> dict[int, dict]:
    """{item index: stored result} of the items a keyed batch already applied (empty without a key)."""
    if record is None:
        return {}
    prefix = _item_key(record, 0)[:-1]
    rows = IdempotencyRecord.objects.filter(
        api_key_id=record.api_key_id, key__startswith=prefix, status=IdempotencyStatus.COMPLETE
    ).values_list("key", "response_body")
    return {int(key.rsplit(":", 1)[1]): json.loads(bytes(body)) for key, body in rows}


def complete_item(record: IdempotencyRecord | None, index: int, result: dict) -> None:
    """Store item `index`'s result; call inside the transaction that applied it (no-op without a key)."""
    if record is None:
        return
    IdempotencyRecord.objects.create(
        api_key_id=record.api_key_id,
        key=_item_key(record, index),
        fingerprint=record.fingerprint,
        status=IdempotencyStatus.COMPLETE,
        response_status=200,
        response_body=json.dumps(result).encode(),
        created_at=clock.now(),
        completed_at=clock.now(),
    )


def cleanup() -> int:
    """Delete records past the retention period (the hourly django-q2 schedule of migration 0002)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - retention()).delete()
    return deleted
