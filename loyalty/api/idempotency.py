"""Idempotent retries: `Idempotency-Key` on a POST returns the first response and never applies
the request twice.

The record is inserted *before* the request is processed, in its own (auto-committed)
transaction: the unique constraint (api key, idempotency key) lets exactly one of two concurrent
requests win. The loser waits for the winner's response and replays it. A request whose response
was a server error gives the key back (the record is deleted), so a retry can run it.
Known gap: if the process dies between committing the event and storing the response, the record
stays in progress; a retry then gets 409 until the record is cleaned up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse

from loyalty import clock

from . import errors
from .models import IdempotencyRecord, IdempotencyStatus

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02


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


def begin(api_key, key: str, request) -> IdempotencyRecord:
    """Claim the key for this request, or raise Replay / IdempotencyMismatch / IdempotencyInProgress."""
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise errors.MalformedRequest(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    digest = fingerprint(request)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    api_key=api_key, key=key, fingerprint=digest, created_at=clock.now()
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # the first request failed and gave the key back: claim it again
        if existing.fingerprint != digest:
            raise errors.IdempotencyMismatch(field="Idempotency-Key")
        if existing.status == IdempotencyStatus.COMPLETE:
            raise Replay(existing)
        if time.monotonic() > deadline:
            raise errors.IdempotencyInProgress(field="Idempotency-Key")
        time.sleep(POLL_SECONDS)


def finish(record: IdempotencyRecord, response) -> None:
    """Store the response (any status below 500), or release the key after a server error."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.COMPLETE,
        response_status=response.status_code,
        response_body=bytes(response.content),
        completed_at=clock.now(),
    )


def cleanup() -> int:
    """Delete records past the retention period (the hourly django-q2 schedule of migration 0002)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - retention()).delete()
    return deleted
