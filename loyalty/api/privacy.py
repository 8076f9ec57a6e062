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

from customers.privacy import SCRUBBED, _matcher
from loyalty import clock

from .models import IdempotencyRecord


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
            key=key, response_body=matcher.sub(SCRUBBED, body).encode() if body else record.response_body
        )
        changed += 1
    return changed
