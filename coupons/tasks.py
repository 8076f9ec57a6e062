"""Scheduled coupon housekeeping (django-q2; hourly Schedule from migration 0002)."""

from loyalty import clock

from .coupons import expire_due


def expire_coupons() -> int:
    """Store the expired status of held coupons whose date has passed. Idempotent: a second
    run finds nothing to change. No points move, so no event is registered."""
    return expire_due(clock.now())
