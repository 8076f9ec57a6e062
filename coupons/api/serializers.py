"""Response shapes of the coupons and rewards API (plain dicts, documented by these serializers)."""

from rest_framework import serializers

from coupons import auctions
from loyalty import clock


class RewardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField()
    points = serializers.IntegerField(help_text="cost in points")
    account = serializers.CharField()
    gives = serializers.CharField()
    stock = serializers.IntegerField(allow_null=True, help_text="left; null: unlimited")
    valid_until = serializers.DateTimeField(allow_null=True)
    affordable = serializers.BooleanField()
    # Bidding (auction) rewards only (the reference's BidResponse fields).
    type = serializers.CharField(required=False, help_text="`bidding` for an auction reward")
    starts_at = serializers.DateTimeField(required=False, allow_null=True, help_text="bidding: auction start")
    ends_at = serializers.DateTimeField(required=False, help_text="bidding: auction end")
    starting_bid = serializers.IntegerField(required=False, help_text="bidding: the smallest first bid")
    bid_step = serializers.IntegerField(required=False, help_text="bidding: the smallest raise")
    highest_bid = serializers.JSONField(
        required=False, help_text="bidding: {own: the customer leads, points} or null before the first bid"
    )
    minimum_bid = serializers.IntegerField(
        required=False, help_text="bidding: what a bid without amount bids"
    )


class CouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    type = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    balance = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    status = serializers.CharField()
    usages = serializers.IntegerField()
    usage_limit = serializers.IntegerField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    redeemed_at = serializers.DateTimeField(allow_null=True)


class RedeemRequestSerializer(serializers.Serializer):
    customer = serializers.CharField(required=False, help_text="needed for an unassigned code")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, help_text="gift cards")
    transaction_id = serializers.CharField(required=False)


def _iso(value):
    return value.isoformat() if value else None


def _money(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def reward_object(reward, spendable: dict[int, int], customer=None) -> dict:
    """A reward as `customer` sees it; a bidding reward adds its auction (one query)."""
    answer = {
        "id": reward.pk,
        "name": reward.name,
        "description": reward.description,
        "image_url": reward.image_url,
        "points": reward.points,
        "account": reward.account.code,
        "gives": reward.gives,
        "stock": reward.remaining,
        "valid_until": _iso(reward.valid_until),
        "affordable": spendable.get(reward.account_id, 0) >= reward.points,
    }
    if reward.bidding:
        answer.update(auction_object(reward, customer))
    return answer


def auction_object(reward, customer) -> dict:
    """The reference's bidding fields: `type`, `starts_at`, `ends_at`, `bid_step`, `highest_bid`
    {own, points} (null before the first bid), plus ours: `starting_bid`, `minimum_bid`."""
    leader = auctions.leading_bid(reward, customer.environment) if customer is not None else None
    return {
        "type": "bidding",
        "starts_at": _iso(reward.valid_from),
        "ends_at": _iso(reward.valid_until),
        "starting_bid": reward.starting_bid,
        "bid_step": reward.bid_step,
        "highest_bid": None
        if leader is None
        else {"own": customer is not None and leader.customer_id == customer.pk, "points": leader.points},
        "minimum_bid": auctions.minimum_bid(reward, leader),
    }


def coupon_object(coupon) -> dict:
    return {
        "code": coupon.code,
        "type": coupon.pool.type,
        "amount": _money(coupon.amount),
        "balance": _money(coupon.balance),
        "status": coupon.current_status(clock.now()),
        "usages": coupon.usages,
        "usage_limit": coupon.pool.usage_limit,
        "claimed_at": _iso(coupon.claimed_at),
        "expires_at": _iso(coupon.expires_at),
        "redeemed_at": _iso(coupon.redeemed_at),
    }


def pool_object(pool) -> dict:
    """The reference's payload of a coupon pool (Coupon Pools API): amounts as numbers."""
    return {
        "id": str(pool.pk),
        "external_id": pool.external_id,
        "name": pool.name,
        "source": pool.source,
        "type": pool.type,
        "value": _money(pool.value),
        "purchase_minimum": _money(pool.purchase_minimum),
        "minimum_value": _money(pool.minimum_value),
        "minimum_redemption_value": _money(pool.minimum_redemption_value),
        "currency": pool.currency or None,
        "expiration_time": pool.expiration_time or None,
        "aggregated": pool.aggregated,
        "products": list(pool.products or []),
        "stores": list(pool.stores or []),
    }
