"""Background tasks of the API (django-q2). Schedule `loyalty.api.tasks.cleanup_idempotency_records`
hourly (`manage.py setup_api_schedules` creates the schedule)."""

from . import idempotency


def cleanup_idempotency_records() -> int:
    return idempotency.cleanup()
