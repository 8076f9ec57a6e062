"""The sandbox's test clock, in the spirit of Stripe's test clocks.

The sandbox's time is real time plus an offset (loyalty.clock.now("sandbox")); events registered
in the sandbox take their time from it. `advance` moves it forward (never backwards; live has no
such clock) and then runs the scheduled work for the sandbox up to its new time: point
activation and expiry, tier reviews and coupon expiry, each registering its events as the hourly
runs do. Live is never touched.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from coupons import tasks as coupon_tasks
from loyalty import clock, configcache, tasks
from loyalty.bounds import YEAR_MAX
from loyalty.errors import ValidationError
from loyalty.models import SandboxClock
from workflows import tasks as workflow_tasks

SANDBOX = clock.SANDBOX
LATEST = dt.datetime(YEAR_MAX - 1, 1, 1, tzinfo=dt.UTC)  # room for expiry arithmetic after it


def status() -> dict:
    """{"now": ISO 8601, "offset_seconds": int} of the sandbox's clock."""
    offset = clock.sandbox_offset()
    return {"now": clock.now(SANDBOX).isoformat(), "offset_seconds": int(offset.total_seconds())}


def advance(*, to: dt.datetime | None = None, by: dt.timedelta | None = None, field: str = "") -> dict:
    """Move the sandbox's clock to `to` (aware) or forward `by`, then run the sandbox's scheduled
    work up to it. Raises ValidationError (`field`, else `to` / `by`) for a move backwards, no move, or a
    time past the date bounds. Returns status() plus the work done."""
    if (to is None) == (by is None):
        raise ValidationError("Give either `to` (a date-time) or `by` (seconds).", field="to")
    with transaction.atomic():
        row, _ = SandboxClock.objects.select_for_update().get_or_create(pk=1)
        current = clock.now() + row.offset
        target = to if to is not None else current + by  # type: ignore[operator]
        field = field or ("to" if to is not None else "by")
        if target <= current:
            raise ValidationError(
                f"The sandbox clock only moves forward; it is {current.isoformat()} now.", field=field
            )
        if target > LATEST:
            raise ValidationError(f"The sandbox clock cannot pass {LATEST.date().isoformat()}.", field=field)
        row.offset = target - clock.now()
        row.updated_at = clock.now()
        row.save()
        configcache.changed()
    configcache.reset()  # this process reads the new offset at once
    work = {
        "points": tasks.expire_and_activate(environments=[SANDBOX]),
        "tiers": tasks.review_tiers(environments=[SANDBOX]),
        "coupons_expired": coupon_tasks.expire_coupons(environments=[SANDBOX]),
        "auctions_settled": coupon_tasks.settle_auctions(environments=[SANDBOX]),
        "workflows": workflow_tasks.tick(environments=[SANDBOX]),  # waits and date triggers
    }
    return {**status(), "work": work}
