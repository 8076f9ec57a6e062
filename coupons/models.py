"""Coupon pools and their codes, and the rewards catalog with its claims.

Coupons, redemptions and claims change only in the handlers of `coupons.coupons` and
`coupons.rewards` (inside `register_event`), under row locks: customer, then reward, then coupon.
Pools and rewards are configuration, edited in the console.
"""

from decimal import Decimal

from django.db import models
from django.db.models.functions import Upper

from .choices import BidStatus, CouponStatus, CouponType, PoolSource, RewardGives

# No 0/O, 1/I/L: codes are read aloud and typed from receipts.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class CouponPool(models.Model):
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=CouponType.choices, default=CouponType.AMOUNT)
    value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        help_text="amount, percent, or gift-card balance",
    )
    currency = models.CharField(max_length=3, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="coupons expire then")
    validity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="or: coupons expire this many days after assignment"
    )
    usage_limit = models.PositiveIntegerField(default=1, help_text="redemptions allowed per coupon")
    code_pattern = models.CharField(
        max_length=64, default="????-????", help_text="? = a random character, other characters stay"
    )
    active = models.BooleanField(default=True)
    # The reference's Coupon Pools API attributes (docs/api.md "Coupon pools").
    external_id = models.CharField(
        "external ID",
        max_length=24,
        null=True,
        blank=True,
        unique=True,
        help_text="6 to 24 characters: the pool's ID in another system (Coupon Pools API)",
    )
    source = models.CharField(max_length=12, choices=PoolSource.choices, default=PoolSource.UPLOADED)
    purchase_minimum = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="the smallest purchase total a checkout may redeem these coupons on",
    )
    minimum_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="gift cards: a card whose balance falls below this becomes invalid",
    )
    minimum_redemption_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="gift cards: the smallest amount one redemption may take",
    )
    expiration_time = models.CharField(
        max_length=32,
        blank=True,
        help_text="coupons expire this long after assignment, e.g. '2 months', '30 days', '1 year'",
    )
    aggregated = models.BooleanField(
        default=False,
        help_text="a customer who already holds a live coupon of this pool gets the same code again, "
        "its value added (amount and gift-card pools)",
    )
    products = models.JSONField(default=list, blank=True, help_text="product IDs the discount applies to")
    stores = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CouponQuerySet(models.QuerySet):
    def with_code(self, code) -> "CouponQuerySet":
        """The coupon with `code`, whatever its letter case: compared upper-cased,
        which the unique index `coupon_code_upper` serves."""
        return self.alias(code_upper=Upper("code")).filter(code_upper=str(code).strip().upper())

    def with_codes(self, codes) -> "CouponQuerySet":
        return self.alias(code_upper=Upper("code")).filter(
            code_upper__in=[str(code).strip().upper() for code in codes]
        )


class Coupon(models.Model):
    pool = models.ForeignKey(CouponPool, on_delete=models.PROTECT, related_name="coupons")
    # Unique regardless of letter case: the index on UPPER(code) below.
    code = models.CharField(max_length=64)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="coupons"
    )
    status = models.CharField(max_length=12, choices=CouponStatus.choices, default=CouponStatus.UNASSIGNED)
    balance = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="gift cards only"
    )
    # The coupon's own face value when it differs from its pool's: kept by a pool update whose
    # update_method leaves this coupon alone, or grown by an aggregated pool. Empty: the pool's.
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    usages = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    transferred_from = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CouponQuerySet.as_manager()

    class Meta:
        ordering = ["-claimed_at", "-id"]
        constraints = [models.UniqueConstraint(Upper("code"), name="coupon_code_upper")]
        indexes = [
            models.Index(fields=["customer", "-id"], name="coupon_customer"),
            models.Index(fields=["pool", "status", "id"], name="coupon_pool_status"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def type(self) -> str:
        return self.pool.type

    def current_status(self, now) -> str:
        """The status as of `now`: a held coupon whose date has passed shows as expired even before
        `coupons.coupons.expire_due` has stored it (redemption refuses it either way)."""
        held = self.status in (CouponStatus.CLAIMED, CouponStatus.TRANSFERRED)
        if held and self.expires_at is not None and self.expires_at <= now:
            return CouponStatus.EXPIRED
        return self.status

    @property
    def face_value(self):
        """The coupon's value: its own (`value`) when set, else its pool's."""
        return self.pool.value if self.value is None else self.value

    @property
    def amount(self):
        return None if self.pool.type == CouponType.FREE_SHIPPING else self.face_value


class CouponRedemption(models.Model):
    """One use of a coupon; `undone_at` is set by coupon_unredeem (or a full reversal of its
    transaction), `returned` grows with partial refunds of a gift card's transaction."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Of a gift card's `amount`, what partial refunds of its transaction have given back so far
    # (docs/reversals.md); never more than `amount`.
    returned = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    transaction_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.coupon} redeemed"


class Reward(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    image_url = models.URLField("image URL", max_length=500, blank=True)
    points = models.PositiveBigIntegerField("cost in points", default=0)
    account = models.ForeignKey("loyalty.PointAccount", on_delete=models.PROTECT, related_name="+")
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="empty: unlimited")
    claimed_count = models.PositiveIntegerField(default=0)
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, help_text="empty: unlimited")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    eligible_statuses = models.JSONField(default=list, blank=True, help_text="empty: active and inactive")
    eligible_tiers = models.ManyToManyField("loyalty.Tier", blank=True, related_name="+")
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="only members of this segment may claim (error 120213 otherwise)",
    )
    gives = models.CharField(max_length=10, choices=RewardGives.choices, default=RewardGives.NOTHING)
    pool = models.ForeignKey(
        CouponPool, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards"
    )
    points_given = models.PositiveBigIntegerField(default=0, help_text="for rewards that give points")
    active = models.BooleanField(default=True)
    # A bidding (auction) reward (the reference's reward type `bidding`): customers bid points
    # from valid_from to valid_until through the Display API's .../bid; the highest bid when it
    # ends wins the reward (coupons.auctions). `points` is then only the list price.
    bidding = models.BooleanField(
        "bidding (auction) reward",
        default=False,
        help_text="customers bid points from 'valid from' to 'valid until'; the highest bid wins",
    )
    starting_bid = models.PositiveBigIntegerField(
        default=0, help_text="bidding rewards: the smallest first bid, in points"
    )
    bid_step = models.PositiveBigIntegerField(
        default=1, help_text="bidding rewards: a bid must pass the highest one by at least this many points"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["points", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(claimed_count__lte=models.F("stock")),
                name="reward_never_oversold",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self):
        return None if self.stock is None else max(self.stock - self.claimed_count, 0)


class RewardClaim(models.Model):
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="claims")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="reward_claims")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    # Set by a `reward_revoke` event (Display API .../revoke): the points went back.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "reward"], name="claim_customer_reward")]

    def __str__(self) -> str:
        return f"{self.reward} for {self.customer}"


class RewardBid(models.Model):
    """One bid on a bidding reward, made by its `reward_bid` event. While LEADING its `points` are
    reserved on the customer's balance in the reward's account; being outbid releases them (the
    customer's `reward_bid_release` event, `release_event`); winning spends them (the `reward`
    claim event, `claim_event`). Each environment has its own auction of a reward."""

    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="bids")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="reward_bids")
    environment = models.CharField(max_length=10)
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=BidStatus.choices, default=BidStatus.LEADING)
    created_at = models.DateTimeField()
    release_event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claim_event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-points", "-id"]
        indexes = [models.Index(fields=["reward", "environment", "status"], name="bid_reward_status")]
        constraints = [
            # At most one leading bid per auction: the database refuses a second one even if
            # the reward row lock were bypassed.
            models.UniqueConstraint(
                fields=["reward", "environment"],
                condition=models.Q(status="leading"),
                name="one_leading_bid_per_auction",
            )
        ]

    def __str__(self) -> str:
        return f"{self.points} points on {self.reward} by {self.customer}"
