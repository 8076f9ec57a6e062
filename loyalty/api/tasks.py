"""Background tasks of the API (django-q2). Migration 0002 schedules the cleanup hourly."""

from . import idempotency


def cleanup_idempotency_records() -> int:
    return idempotency.cleanup()
