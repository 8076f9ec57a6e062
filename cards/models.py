"""Loyalty cards (Talon.One, reference §7.2): a card code registered to one or more customers.

Only `cards.cards` writes cards and registrations: the customer-facing changes (register,
unregister, transfer) inside `register_event`; creating cards (one, a batch, an import) is
catalog work in `cards.cards` too, like generating coupon codes.
"""

from django.db import models

from loyalty.choices import Environment

from .choices import CardStatus

CARD_CODE_RE = r"^[A-Za-z0-9._%+@-]+$"
CARD_CODE_MAX = 108


class CardSettings(models.Model):
    """One row: the program's card rules (Talon.One `usersPerCardLimit`, the code format)."""

    users_per_card_limit = models.PositiveIntegerField(default=1, help_text="customers per card (1 or more)")
    code_length = models.PositiveIntegerField(default=12, help_text="random characters of a generated code")
    code_prefix = models.CharField(max_length=20, blank=True, help_text="e.g. CARD-")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "card settings"
        verbose_name_plural = "card settings"

    def __str__(self) -> str:
        return "Card settings"

    @classmethod
    def current(cls) -> "CardSettings":
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class LoyaltyCard(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    code = models.CharField(max_length=CARD_CODE_MAX)
    status = models.CharField(max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    block_reason = models.CharField(max_length=1000, blank=True)
    batch_id = models.CharField(max_length=64, blank=True)
    transferred_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="transferred_from"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "code"], name="card_code_per_environment")
        ]
        indexes = [models.Index(fields=["environment", "batch_id"], name="card_batch")]

    def __str__(self) -> str:
        return self.code


class CardRegistration(models.Model):
    """A customer registered to a card ("linked profile")."""

    card = models.ForeignKey(LoyaltyCard, on_delete=models.CASCADE, related_name="registrations")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="card_registrations"
    )
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["card", "customer"], name="one_registration_per_card")]
        indexes = [models.Index(fields=["customer", "-registered_at"], name="card_registration_customer")]

    def __str__(self) -> str:
        return f"{self.card_id} -> {self.customer_id}"
