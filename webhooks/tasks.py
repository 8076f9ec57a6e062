"""django-q2 tasks of the webhooks: sending, the every-minute sweep and the daily cleanup."""

from __future__ import annotations

from . import delivery, worker


def deliver(ids: list[int]) -> dict[str, int]:
    """Attempt the given deliveries once (queued by dispatch, enqueue_message or replay)."""
    return worker.deliver(ids)


def deliver_due() -> dict[str, int]:
    """Every minute (a Schedule from the webhooks migration): retries whose time has come, and
    anything a lost worker left behind. Loops while full batches come back, within a minute."""
    return worker.deliver_due()


def deliver_site_due(site_id: int) -> dict[str, int]:
    """Booked by worker.wake_at for a retry's (or an open circuit's) due time: the site's due
    deliveries."""
    return worker.deliver_site_due(site_id)


def cleanup() -> int:
    """Daily: delete log rows past the retention period."""
    return delivery.cleanup()
