from django.db import models

from loyalty import configcache
from loyalty.choices import Module
from loyalty.roles import CONSOLE_PERMISSIONS

PROGRAM_CACHE_KEY = "loyalty:program:v1"


class Program(models.Model):
    """The one loyalty program of this installation, with its switchable modules.

    Read it with `Program.current()` (kept in process memory); saving it tells every process
    to reload it (loyalty.configcache).
    """

    name = models.CharField(max_length=200, default="Loyalty program")
    base_currency = models.CharField(max_length=3, default="EUR")
    time_zone = models.CharField(max_length=64, default="UTC")

    multi_accounts = models.BooleanField(default=False)
    tiers = models.BooleanField(default=True)
    expiring_points = models.BooleanField(default=True)
    coupons = models.BooleanField(default=True)
    rewards = models.BooleanField(default=True)
    transactions = models.BooleanField(default=True)
    checkout_accept = models.BooleanField(default=False)
    segments = models.BooleanField(default=False)
    workflows = models.BooleanField(default=False)
    passes = models.BooleanField(default=False)
    tiered_campaigns = models.BooleanField(default=False)
    sync = models.BooleanField(default=False)
    webhooks = models.BooleanField(default=False)
    incoming_webhooks = models.BooleanField(default=False)
    referrals = models.BooleanField(default=False)
    achievements = models.BooleanField(default=False)
    budgets = models.BooleanField(default=False)
    loyalty_cards = models.BooleanField(default=False)
    content_approval = models.BooleanField(default=False)
    anonymous_registration = models.BooleanField(default=True)
    customer_verification = models.BooleanField(default=False)
    dashboard = models.BooleanField(default=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = CONSOLE_PERMISSIONS  # type: ignore[assignment]  # list invariance vs the stubs

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    @classmethod
    def current(cls) -> "Program":
        """The program, kept in process memory (loyalty.configcache); read-only: to change it,
        load a fresh row (`Program.objects.get(pk=...)`) and save that."""
        return configcache.get(PROGRAM_CACHE_KEY, cls._load)

    @classmethod
    def _load(cls) -> "Program":
        program = cls.objects.order_by("pk").first()
        return program if program is not None else cls.objects.create()

    def module_enabled(self, module: str) -> bool:
        return bool(getattr(self, Module(module).value))

    @property
    def enabled_modules(self) -> list[str]:
        return [m.value for m in Module if getattr(self, m.value)]
