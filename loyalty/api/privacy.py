"""Opt-out scrubbing of stored API responses (called by customers.privacy on opt-out).

An `Idempotency-Key` request keeps its first response (IdempotencyRecord.response_body, kept for
API_IDEMPOTENCY_RETENTION_HOURS) to replay it: a customer object with every attribute, a guest
checkout's e-mail, a bulk batch's customers. On opt-out every stored response that contains one of
the customer's identifying values (current or earlier, customers.privacy.original_values) gets
those values replaced by "[anonymized]" — the replay then shows the anonymized customer — and a
key that itself contains one is replaced too.

The search is a scan of the bodies stored within the retention period (the `created_at` index
bounds it; older records are deleted by the hourly cleanup), done in the database: `position()` on
PostgreSQL's bytea, `instr()` on SQLite's blob, each value in its stored and lower case.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import connection
from django.db.models import Q

from customers.privacy import SCRUBBED, _matcher
from loyalty import clock
from loyalty.queue_privacy import scrub

from .models import AsyncEvent, IdempotencyRecord


def _candidates(values: list[str]) -> list[int]:
    needles = sorted({variant for v in values if len(v) >= 3 for variant in (v, v.lower())})
    if not needles:
        return []
    table = IdempotencyRecord._meta.db_table
    if connection.vendor == "postgresql":
        test = "position(convert_to(%s, 'UTF8') in response_body) > 0"
        key_test = "position(%s in key) > 0"
    else:
        test = "instr(response_body, CAST(%s AS BLOB)) > 0"
        key_test = "instr(key, %s) > 0"
    clauses = " OR ".join([test] * len(needles) + [key_test] * len(needles))
    sql = f"SELECT id FROM {table} WHERE created_at >= %s AND ({clauses})"  # noqa: S608 (no input)
    since = clock.now() - dt.timedelta(hours=getattr(settings, "API_IDEMPOTENCY_RETENTION_HOURS", 48))
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, *needles, *needles])
        return [row[0] for row in cursor.fetchall()]


def scrub_customer(customer, originals: dict) -> int:
    """Scrub the customer's values from stored responses and keys; returns the records changed."""
    values = originals.get("values", [])
    matcher = _matcher(values)
    if matcher is None:
        return 0
    changed = 0
    for record in IdempotencyRecord.objects.filter(pk__in=_candidates(values)).only(
        "id", "key", "response_body"
    ):
        body = bytes(record.response_body or b"").decode("utf-8", "replace")
        key = record.key
        if matcher.search(key):
            key = f"anon-{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            key=key,
            response_body=matcher.sub(SCRUBBED, body).encode() if body else record.response_body,
            # The request's fingerprint is a hash of a body that held the values (guessable from
            # them): it is replaced, so a retry with this key after the opt-out is a conflict.
            fingerprint=SCRUBBED_FINGERPRINT,
        )
        changed += 1
    return changed + scrub_async_events(customer, originals, matcher)


# Not a SHA-256 hex digest, so it never equals a request's fingerprint.
SCRUBBED_FINGERPRINT = "scrubbed"


def scrub_async_events(customer, originals: dict, matcher) -> int:
    """Async Events API rows (`AsyncEvent`: the event as sent, the stored response, the sender's IP
    address and user agent, a correlation ID the client chose) that name the customer: values
    replaced in payload, response and correlation ID, IP and user agent cleared, fingerprint
    replaced (a hash of the payload)."""
    mentions = Q()
    for value in originals.get("values", []):
        if len(value) >= 3:
            mentions |= (
                Q(payload__icontains=value)
                | Q(response__icontains=value)
                | Q(correlation_id__icontains=value)
            )
    if not mentions:
        return 0
    changed = 0
    for row in AsyncEvent.objects.filter(mentions).iterator(chunk_size=500):
        correlation_id = row.correlation_id
        if matcher.search(correlation_id):
            correlation_id = f"anon-{hashlib.sha256(correlation_id.encode()).hexdigest()[:32]}"
        AsyncEvent.objects.filter(pk=row.pk).update(
            payload=scrub(row.payload, matcher),
            response=scrub(row.response, matcher),
            correlation_id=correlation_id,
            ip_address=None,
            user_agent="",
            fingerprint=SCRUBBED_FINGERPRINT,
        )
        changed += 1
    return changed
