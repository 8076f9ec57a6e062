"""Coupon hooks the customer lifecycle calls by dotted path (customers.merge).

Coupons hold no personal data, so opt-out needs no scrubber; a merge moves the source's coupons and
reward claims to the target.
"""

from .models import Coupon, RewardClaim


def merge_customer(source, target) -> int:
    RewardClaim.objects.filter(customer=source).update(customer=target)
    return Coupon.objects.filter(customer=source).update(customer=target)
