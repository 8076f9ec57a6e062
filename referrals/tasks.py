"""Background work of the referrals app (django-q2): the advocate's reward, through the engine."""

from __future__ import annotations

import logging

from events.choices import EventSource
from events.engine import register_event
from loyalty.errors import EngineError

from .models import Referral, ReferralSettings

log = logging.getLogger("loyalty.referrals")


def reward_advocate(referral_pk: int) -> None:
    """Register the advocate's `referral_reward` (once: a rewarded referral is skipped)."""
    referral = Referral.objects.select_related("advocate", "friend").filter(pk=referral_pk).first()
    if referral is None or referral.advocate_rewarded or referral.advocate.anonymized_at is not None:
        return
    points = ReferralSettings.current().advocate_points
    try:
        register_event(
            environment=referral.environment,
            customer=referral.advocate,
            action="referral_reward",
            data={"referral": referral.pk, "points": points, "friend": referral.friend.customer_id},
            source=EventSource.SYSTEM,
            internal=True,
        )
    except EngineError as error:  # e.g. a banned advocate cannot earn: nothing to credit
        log.warning("referral %s: advocate not rewarded: %s", referral_pk, error.message)
