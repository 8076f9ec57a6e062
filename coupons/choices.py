from django.db import models


class CouponType(models.TextChoices):
    AMOUNT = "amount", "Amount"
    PERCENTAGE = "percentage", "Percentage"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    GIFT_CARD = "gift_card", "Gift card"


class PoolSource(models.TextChoices):
    """Where a pool's codes come from (the reference's `source`)."""

    UPLOADED = "uploaded", "Uploaded"
    GENERATED = "generated", "Generated"


class CouponStatus(models.TextChoices):
    """000 "Coupons". UNASSIGNED: in the pool, nobody holds it."""

    CLAIMED = "claimed", "Claimed"
    UNASSIGNED = "unassigned", "Unassigned"
    REDEEMED = "redeemed", "Redeemed"
    EXPIRED = "expired", "Expired"
    INVALID = "invalid", "Invalid"
    TRANSFERRED = "transferred", "Transferred"


# A customer may redeem a coupon in these statuses (transferred = claimed by the new holder).
REDEEMABLE = (CouponStatus.CLAIMED, CouponStatus.TRANSFERRED, CouponStatus.UNASSIGNED)


class RewardGives(models.TextChoices):
    COUPON = "coupon", "A coupon from a pool"
    POINTS = "points", "Points"
    NOTHING = "nothing", "Nothing but the record"


class BidStatus(models.TextChoices):
    """A bid on a bidding (auction) reward (coupons.auctions). Its points are reserved while it
    is LEADING; OUTBID and VOID bids hold nothing; a WON bid's points were spent on the claim."""

    LEADING = "leading", "Leading"
    OUTBID = "outbid", "Outbid"
    WON = "won", "Won"
    VOID = "void", "Void"
