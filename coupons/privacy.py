"""Coupon hooks the customer lifecycle calls by dotted path (customers.privacy, customers.merge).

Opt-out: coupon codes and amounts stay (the pool's accounting), but a redemption's transaction ID
that contains one of the customer's personal values is replaced. Merge moves the source's coupons,
reward claims and bids to the target.
"""

from django.db.models import Q

from customers.privacy import SCRUBBED, _matcher

from .models import Coupon, CouponRedemption, RewardBid, RewardClaim


def scrub_customer(customer, originals: dict) -> int:
    matcher = _matcher(originals.get("values", []))
    if matcher is None:
        return 0
    changed = 0
    redemptions = CouponRedemption.objects.filter(
        Q(coupon__customer=customer) | Q(event__customer=customer)
    ).exclude(transaction_id="")
    for redemption in redemptions.only("id", "transaction_id"):
        if matcher.search(redemption.transaction_id):
            CouponRedemption.objects.filter(pk=redemption.pk).update(transaction_id=SCRUBBED)
            changed += 1
    return changed


def merge_customer(source, target) -> int:
    RewardClaim.objects.filter(customer=source).update(customer=target)
    # The reserved points of a leading bid move with the lots (loyalty.ledger.lots.merge_into).
    RewardBid.objects.filter(customer=source).update(customer=target)
    return Coupon.objects.filter(customer=source).update(customer=target)
