from django.db import models

from loyalty import configcache

TIER_CACHE_KEY = "loyalty:tier-structures:v1"  # loyalty.tiers.structures()


class _ClearsTierCache(models.Model):
    """Saving or deleting tier configuration drops the cached structures (like Program.save)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result


class TierExpirationMethod(models.TextChoices):
    RECALCULATE = "recalculate", "Recalculate at expiration"
    KEEP_HIGHEST = "keep_highest", "Keep the highest reached tier level"


class TierStructure(_ClearsTierCache):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    accounts = models.ManyToManyField("loyalty.PointAccount", blank=True, help_text="empty: all accounts")
    qualification_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="tier points are earned over this many months; empty: lifetime"
    )
    tier_validity_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: no expiration"
    )
    expiration_method = models.CharField(
        max_length=20, choices=TierExpirationMethod.choices, default=TierExpirationMethod.RECALCULATE
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Tier(_ClearsTierCache):
    structure = models.ForeignKey(TierStructure, on_delete=models.CASCADE, related_name="tiers")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    threshold = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["structure", "threshold"]
        constraints = [models.UniqueConstraint(fields=["structure", "code"], name="tier_code_per_structure")]

    def __str__(self) -> str:
        return self.name


class CustomerTier(models.Model):
    """A customer's place in one tier structure. Only `loyalty.tiers` writes it."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="tiers")
    structure = models.ForeignKey(TierStructure, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    tier_points = models.BigIntegerField(default=0)
    points_after_expiration = models.BigIntegerField(default=0)
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="manual tier: no downgrade until then"
    )
    locked = models.BooleanField(default=False)
    review_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="derived: the earliest moment the tier can change without earning (loyalty.tiers.next_review)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "structure"], name="one_tier_per_structure")
        ]

    def __str__(self) -> str:
        return f"{self.tier} since {self.since:%Y-%m-%d}"
