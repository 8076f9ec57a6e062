"""Transactions (checkouts) with their items, and the console-configured earning rules.

Only the handlers in `transactions.checkout` write Transaction and TransactionItem rows (inside
`register_event`); the console edits EarningRule only.
"""

from decimal import Decimal

from django.db import models

from loyalty import configcache
from loyalty.choices import Environment

from .choices import EarningMode, RoundingMode, TransactionStatus


class Transaction(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    transaction_id = models.CharField("transaction ID", max_length=128)
    # NULL for a guest checkout until it is claimed (checkout_claim or enrollment).
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    guest = models.CharField(
        max_length=254, blank=True, help_text="guest identifier (e.g. e-mail) until claimed"
    )
    account = models.ForeignKey("loyalty.PointAccount", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=TransactionStatus.choices, default=TransactionStatus.DRAFT
    )
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True)
    channel = models.CharField(max_length=64, blank=True)
    coupon_codes = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="other attributes of the last checkout event")
    # Problems a checkout reported without refusing the purchase, e.g.
    # [{"code": "coupon_expired", "coupon": "SAVE-E73H", "message": "..."}].
    warnings = models.JSONField(default=list, blank=True)

    # Points. earned = rewarded for this transaction (credited once accepted; while pending they
    # are kept here only). taken_back + shortfall <= earned, always.
    points_earned = models.BigIntegerField("points rewarded", default=0)
    points_credited = models.BooleanField(default=False)
    points_taken_back = models.BigIntegerField(default=0)
    points_shortfall = models.BigIntegerField(
        default=0, help_text="points a refund could not take back without a negative balance"
    )
    points_burned = models.BigIntegerField(default=0)
    points_unburned = models.BigIntegerField(default=0)
    first_purchase = models.BooleanField(default=False)

    checkout_at = models.DateTimeField(null=True, blank=True, help_text="when the checkout event arrived")
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="rejected or fully refunded at")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    checkout_event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "transaction_id"], name="transaction_id_per_environment"
            ),
            models.CheckConstraint(
                condition=models.Q(points_taken_back__lte=models.F("points_earned")),
                name="taken_back_le_earned",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-id"], name="transaction_customer"),
            models.Index(fields=["customer", "status", "checkout_at"], name="transaction_customer_stats"),
            models.Index(fields=["environment", "status", "-id"], name="transaction_env_status"),
            models.Index(fields=["environment", "guest"], name="transaction_guest"),
        ]

    def __str__(self) -> str:
        return self.transaction_id

    @property
    def net_total(self) -> Decimal:
        return self.total - self.refunded_value

    @property
    def points_open(self) -> int:
        """Earned points not yet taken back (or written off as shortfall)."""
        return self.points_earned - self.points_taken_back - self.points_shortfall

    @property
    def burned_open(self) -> int:
        return self.points_burned - self.points_unburned


class TransactionItem(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="items")
    line = models.PositiveIntegerField(default=0)
    product_id = models.CharField("product ID", max_length=200, blank=True)
    product_name = models.CharField(max_length=300, blank=True)
    product_url = models.CharField("product URL", max_length=500, blank=True)
    product_category = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_quantity = models.PositiveIntegerField(default=0)
    points = models.BigIntegerField(default=0, help_text="points this line earned (per-item rewarding)")
    item_event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["transaction", "line"]
        indexes = [
            # The profile summary's accrued discounts read only the lines with a discount.
            models.Index(
                fields=["transaction"],
                include=["discount"],
                condition=models.Q(discount__gt=0),
                name="transaction_item_discounted",
            )
        ]

    def __str__(self) -> str:
        return self.product_name or self.product_id


class EarningRule(models.Model):
    """How many points a purchase earns in one account (one rule per account)."""

    account = models.OneToOneField(
        "loyalty.PointAccount", on_delete=models.PROTECT, related_name="earning_rule"
    )
    active = models.BooleanField(default=True)
    mode = models.CharField(max_length=20, choices=EarningMode.choices, default=EarningMode.PER_TRANSACTION)
    points_per_unit = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal("1"), help_text="points per one unit of currency"
    )
    rounding = models.CharField(max_length=10, choices=RoundingMode.choices, default=RoundingMode.DOWN)
    minimum_total = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text="no points below this total"
    )
    category_multipliers = models.JSONField(default=dict, blank=True, help_text='{"t-shirts": 2}')
    product_multipliers = models.JSONField(default=dict, blank=True, help_text='{"SKU-1": 3}')
    excluded_categories = models.JSONField(default=list, blank=True)
    excluded_products = models.JSONField(default=list, blank=True)
    first_purchase_bonus = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__code"]

    def __str__(self) -> str:
        return f"Earning rule for {self.account}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.clear_cache()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.clear_cache()
        return result

    def clear_cache(self) -> None:

        configcache.changed()


class RefundValue(models.Model):
    """The money one refund event gave back (`refund`, `partial_refund`, `refund_item`): how much its
    transaction's `refunded_value` grew. Written by transactions.refunds with the event, in the same
    transaction; the dashboard subtracts it from the revenue (net revenue) on the refund's day."""

    event = models.OneToOneField("events.Event", primary_key=True, on_delete=models.PROTECT, related_name="+")
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="refund_values")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.amount}"
