"""Scheduled coupon housekeeping (django-q2; hourly Schedule from migration 0002)."""

from loyalty import clock
from loyalty.choices import Environment

from .coupons import expire_due


def expire_coupons(environments=None) -> int:
    """Store the expired status of held coupons whose date has passed, each environment up to its
    own time (the sandbox's test clock). Idempotent: a second run finds nothing to change. No
    points move, so no event is registered."""
    return sum(
        expire_due(clock.now(environment), environment) for environment in environments or Environment.values
    )
