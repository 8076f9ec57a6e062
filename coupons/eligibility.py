"""Who may claim a reward now: the claim rules shared by claims (coupons.rewards) and bids
(coupons.auctions). Points are not checked here; the codes are the reference's (§8.4)."""

from __future__ import annotations

import datetime as dt

from customers.choices import CustomerStatus
from loyalty.tiers import effective_rows
from segments.building import is_member

from .models import Reward, RewardClaim

BLOCKED = (CustomerStatus.SUSPENDED, CustomerStatus.BANNED, CustomerStatus.OPTED_OUT)
DEFAULT_STATUSES = (CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING)


def _tier_ids(customer, now: dt.datetime) -> set[int]:
    """The customer's tiers at `now` (loyalty.tiers.effective_rows: an expired tier the hourly
    review has not changed yet no longer counts)."""
    return {ct.tier_id for ct in effective_rows(customer, now).values()}


# The reference's numbers (reference-behaviour.md §8.4) for a refused claim.
CLAIM_LIMIT, OUT_OF_STOCK, NOT_ELIGIBLE = 120211, 120212, 120213
NOT_ACTIVE = 160321  # "reward is not active"
MAY_NOT_SPEND = 110003


class Refusal(str):
    """Why a reward cannot be claimed: the message, with the error code it is raised with."""

    code: int

    def __new__(cls, message: str, code: int):
        value = super().__new__(cls, message)
        value.code = code
        return value


def availability(
    reward: Reward, customer, now: dt.datetime, *, claims: int | None = None, tier_ids: set[int] | None = None
) -> tuple[bool, str]:
    """(True, "") when `customer` may claim `reward` now, else (False, why). Points are not checked."""
    if not reward.active:
        return False, Refusal(f"Reward {reward.name!r} is not available.", NOT_ACTIVE)
    if reward.valid_from and now < reward.valid_from:
        return False, Refusal(
            f"Reward {reward.name!r} cannot be claimed before {reward.valid_from:%Y-%m-%d %H:%M}.", NOT_ACTIVE
        )
    if reward.valid_until and now >= reward.valid_until:
        return False, Refusal(
            f"Reward {reward.name!r} could be claimed until {reward.valid_until:%Y-%m-%d %H:%M}.", NOT_ACTIVE
        )
    if customer.status in BLOCKED:
        return False, Refusal(
            f"A {customer.get_status_display().lower()} customer cannot claim rewards.", MAY_NOT_SPEND
        )
    statuses = reward.eligible_statuses or DEFAULT_STATUSES
    if customer.status not in statuses:
        return False, Refusal(
            f"Reward {reward.name!r} is not available to {customer.status} customers.", NOT_ELIGIBLE
        )
    eligible_tiers = {tier.pk for tier in reward.eligible_tiers.all()}
    if eligible_tiers and not eligible_tiers & (
        tier_ids if tier_ids is not None else _tier_ids(customer, now)
    ):
        return False, Refusal(f"Reward {reward.name!r} is for customers in other tiers.", NOT_ELIGIBLE)
    if reward.segment_id is not None and not is_member(customer.pk, reward.segment_id):
        return False, Refusal(
            f"Reward {reward.name!r} is only for customers in a segment this customer is not in.",
            NOT_ELIGIBLE,
        )
    if reward.stock is not None and reward.claimed_count >= reward.stock:
        return False, Refusal(f"Reward {reward.name!r} is out of stock.", OUT_OF_STOCK)
    if reward.per_customer_limit is not None:
        count = (
            claims
            if claims is not None
            else RewardClaim.objects.filter(reward=reward, customer=customer).count()
        )
        if count >= reward.per_customer_limit:
            return False, Refusal(
                f"The customer has already claimed {reward.name!r} {count} times (the limit).", CLAIM_LIMIT
            )
    return True, ""
