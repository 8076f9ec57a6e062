"""Point accounts, balances, lots and ledger entries. Only `loyalty.ledger` writes them."""

from django.db import models

from loyalty import configcache


class ExpirationRule(models.TextChoices):
    NONE = "none", "Points never expire"
    FIXED_PERIOD = "fixed_period", "A fixed period after earning"
    DYNAMIC = "dynamic", "A period after the customer's last activity"
    ABSOLUTE = "absolute", "On an absolute date"


class PeriodUnit(models.TextChoices):
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"
    MONTHS = "months", "months"
    YEARS = "years", "years"


class Rounding(models.TextChoices):
    NONE = "none", "No rounding"
    END_OF_DAY = "end_of_day", "End of the day"
    END_OF_WEEK = "end_of_week", "End of the week"
    END_OF_MONTH = "end_of_month", "End of the month"
    END_OF_QUARTER = "end_of_quarter", "End of the quarter"
    END_OF_YEAR = "end_of_year", "End of the year"


class PointAccount(models.Model):
    """A points currency (Antavo multi-accounts / Talon.One ledger). One is the default."""

    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    # A customer's subledger (Talon.One): an account of one customer inside a program account
    # (`parent`), created on the spot by point_add with `subledger` (loyalty.ledger.subledgers).
    # Program accounts have neither; only they are kept in the process cache.
    owner = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subledgers",
        help_text="the customer whose subledger this is",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="subledgers"
    )
    is_default = models.BooleanField(default=False)
    burn_rates = models.JSONField(
        default=list, blank=True, help_text='[{"amount": 1, "points": 100, "currency": "EUR"}]'
    )
    expiration_rule = models.CharField(
        max_length=20, choices=ExpirationRule.choices, default=ExpirationRule.NONE
    )
    expiration_period = models.PositiveIntegerField(default=12)
    expiration_unit = models.CharField(max_length=10, choices=PeriodUnit.choices, default=PeriodUnit.MONTHS)
    expiration_date = models.CharField(max_length=5, blank=True, help_text="MM-DD for the absolute rule")
    expiration_rounding = models.CharField(max_length=20, choices=Rounding.choices, default=Rounding.NONE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_point_account"
            ),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(owner__isnull=True), name="program_account_code_unique"
            ),
            models.UniqueConstraint(
                fields=["owner", "code"],
                condition=models.Q(owner__isnull=False),
                name="subledger_code_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # Accounts are kept in process memory (loyalty.ledger.accounts); a change must reach the next event.
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result

    @property
    def is_subledger(self) -> bool:
        return self.owner_id is not None


class PointBalance(models.Model):
    """Per customer and account. Invariant: spendable == sum of active lots' remaining points."""

    # Indexed by one_balance_per_customer_account (customer, account).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="balances", db_index=False
    )
    account = models.ForeignKey(PointAccount, on_delete=models.PROTECT, related_name="balances")
    earned = models.BigIntegerField(default=0, help_text="score")
    spent = models.BigIntegerField(default=0)
    spendable = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "account"], name="one_balance_per_customer_account"),
            models.CheckConstraint(condition=models.Q(spendable__gte=0), name="spendable_never_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="reserved_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.spendable} spendable (account {self.account_id})"


class LotStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    EXHAUSTED = "exhausted", "Points exhausted"
    EXPIRED = "expired", "Expired"


class PointLot(models.Model):
    """One earning: spent first-expiring-first.

    remaining = points - used - expired_points - reserved. `used` counts spent and subtracted
    points; `reserved` points are held for a pending checkout and are not spendable.
    """

    # Indexed by lot_spend_order (customer, account, status, expires_at).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="point_lots", db_index=False
    )
    account = models.ForeignKey(PointAccount, on_delete=models.PROTECT, related_name="lots")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="lots")
    points = models.BigIntegerField()
    used = models.BigIntegerField(default=0)
    expired_points = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=LotStatus.choices, default=LotStatus.ACTIVE)
    activates_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "account", "status", "expires_at"], name="lot_spend_order"),
            models.Index(fields=["status", "expires_at"], name="lot_due_expiry"),
            models.Index(fields=["status", "activates_at"], name="lot_due_activation"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used__gte=0) & models.Q(expired_points__gte=0),
                name="lot_counts_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(reserved__gte=0)
                & models.Q(points__gte=models.F("used") + models.F("expired_points") + models.F("reserved")),
                name="lot_never_overdrawn",
            ),
        ]

    def __str__(self) -> str:
        return f"lot #{self.pk}: {self.remaining} of {self.points} left ({self.status})"

    @property
    def remaining(self) -> int:
        return self.points - self.used - self.expired_points - self.reserved


class EntryKind(models.TextChoices):
    EARN = "earn", "Earned"
    PENDING = "pending", "Pending"
    ACTIVATE = "activate", "Activated"
    SPEND = "spend", "Spent"
    UNSPEND = "unspend", "Spend given back"
    SUB = "sub", "Subtracted"
    EXPIRE = "expire", "Expired"
    RESERVE = "reserve", "Reserved"
    RELEASE = "release", "Released"
    MERGE_IN = "merge_in", "Moved in by merge"
    MERGE_OUT = "merge_out", "Moved out by merge"


class LedgerEntry(models.Model):
    """An append-only line of the points ledger (Talon.One's transaction log)."""

    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="ledger_entries")
    # Indexed by ledger_by_customer (customer, account, id).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    account = models.ForeignKey(PointAccount, on_delete=models.PROTECT, related_name="ledger_entries")
    lot = models.ForeignKey(PointLot, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = models.BigIntegerField(help_text="signed change of spendable (pending for kind=pending)")
    spendable_after = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "account", "id"], name="ledger_by_customer")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"
