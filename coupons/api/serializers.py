"""Response shapes of the coupons and rewards API (plain dicts, documented by these serializers)."""

from rest_framework import serializers

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


def reward_object(reward, spendable: dict[int, int]) -> dict:
    return {
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
