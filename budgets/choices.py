from django.db import models


class BudgetAction(models.TextChoices):
    """What a profile budget limits (reference §7.6, in this engine's terms)."""

    POINTS_AWARDED = "points_awarded", "Points awarded"
    COUPON_REDEMPTIONS = "coupon_redemptions", "Coupon redemptions"
    REWARD_CLAIMS = "reward_claims", "Reward claims"
    REFERRAL_REDEMPTIONS = "referral_redemptions", "Referral redemptions"


class BudgetPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"
