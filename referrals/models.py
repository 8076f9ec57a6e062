"""Referral codes and referrals (Talon.One, reference §7.3). Only `referrals.referrals` writes
them, inside register_event (creating a code, redeeming one, rewarding the advocate)."""

from django.db import models

from loyalty.choices import Environment

REFERRAL_CODE_RE = r"^[A-Za-z0-9_-]{3,64}$"


class ReferralSettings(models.Model):
    """One row: the code generator (length, prefix, suffix), defaults and rewards."""

    code_length = models.PositiveIntegerField(default=8, help_text="random characters (4-32)")
    code_prefix = models.CharField(max_length=16, blank=True)
    code_suffix = models.CharField(max_length=16, blank=True)
    usage_limit = models.PositiveIntegerField(default=1, help_text="redemptions per code; 0 = unlimited")
    validity_days = models.PositiveIntegerField(
        default=0, help_text="days a new code is valid; 0 = never expires"
    )
    advocate_points = models.PositiveIntegerField(
        default=0, help_text="points for the advocate per redemption"
    )
    friend_points = models.PositiveIntegerField(default=0, help_text="points for the friend")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "referral settings"

    def __str__(self) -> str:
        return "Referral settings"

    @classmethod
    def current(cls) -> "ReferralSettings":
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class ReferralCode(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    code = models.CharField(max_length=64)
    advocate = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="referral_codes"
    )
    start_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="empty: never expires")
    usage_limit = models.PositiveIntegerField(default=1, help_text="0 = unlimited")
    usage_counter = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "code"], name="referral_code_per_environment"),
            models.CheckConstraint(
                condition=models.Q(usage_limit=0) | models.Q(usage_counter__lte=models.F("usage_limit")),
                name="referral_code_within_limit",
            ),
        ]
        indexes = [models.Index(fields=["advocate", "-id"], name="referral_code_advocate")]

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """A redemption: the friend referred by the advocate with the code (Talon.One ApplicationReferee)."""

    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    code = models.ForeignKey(ReferralCode, on_delete=models.PROTECT, related_name="redemptions")
    advocate = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    friend = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="referral")
    transaction_id = models.CharField("session", max_length=128, blank=True)
    created_at = models.DateTimeField()
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    advocate_rewarded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["friend"], name="friend_referred_once")]
        indexes = [models.Index(fields=["advocate", "-id"], name="referral_advocate")]

    def __str__(self) -> str:
        return f"{self.code_id}: {self.friend_id}"
