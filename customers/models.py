"""Customers, their custom field definitions and labels."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from loyalty import configcache
from loyalty.choices import Environment

from .choices import CustomerStatus, FieldType

CUSTOMER_ID_RE = r"^[A-Za-z0-9-]{1,128}$"
customer_id_validator = RegexValidator(CUSTOMER_ID_RE, "Latin letters, digits and dashes only.")
# Opt-out replaces a customer's ID with `anon-<hash>` (customers.privacy.anonymous_id): the prefix
# is reserved for the engine, so no event can create a customer with such an ID.
ANONYMIZED_PREFIX = "anon-"

# Built-in attributes an integration may write with opt_in / profile events (001).
BUILTIN_ATTRIBUTES = [
    "first_name",
    "last_name",
    "nickname",
    "email",
    "birth_date",
    "gender",
    "language",
    "currency",
    "phone",
    "mobile_phone",
    "image_url",
    "handler",
    "country",
    "city",
    "zip",
    "address",
]
# Read-only attributes: only handlers write them (001, "Read-only attributes").
READ_ONLY_ATTRIBUTES = [
    "_id",
    "status",
    "score",
    "spent",
    "spendable",
    "pending",
    "reserved",
    "expired",
    "tier",
    "optin_at",
    "last_login_at",
    "updated_at",
    "purchase_total",
    "purchase_count",
    "purchase_items",
    "purchase_last_date",
    "referrals",
]


class Label(models.Model):
    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A loyalty member (or a pre-enrolled inactive profile) in one environment.

    Balances, tier, status and purchase figures are read-only here: only the event handlers
    (through `events.engine.register_event`) write them.
    """

    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    customer_id = models.CharField("ID", max_length=128, validators=[customer_id_validator])
    status = models.CharField(max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)

    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    nickname = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    mobile_phone = models.CharField(max_length=40, blank=True)
    image_url = models.CharField(max_length=500, blank=True)
    handler = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    zip = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=300, blank=True)
    referrer = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_customers",
        db_index=False,  # customer_referrer below: most customers were not referred
    )
    custom = models.JSONField(default=dict, blank=True, help_text="custom attributes by field name")
    labels = models.ManyToManyField(Label, blank=True, related_name="customers")

    # Read-only, written by handlers. Totals over all point accounts, kept in step by loyalty.ledger.
    score = models.BigIntegerField(default=0)
    spent = models.BigIntegerField(default=0)
    spendable = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)
    tier = models.ForeignKey(
        "loyalty.Tier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purchase_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    purchase_count = models.IntegerField(default=0)
    purchase_items = models.IntegerField(default=0)
    purchase_last_date = models.DateField(null=True, blank=True)

    optin_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    # The Custom login module (reference §8.2): a Django password hash, set by opt_in / profile
    # with `password` + `confirm_password` (never stored in the event) and by the password reset.
    password = models.CharField(max_length=128, blank=True, default="")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    anonymized_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # customer_merged_into below: most customers were never merged
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "customer_id"],
                condition=Q(anonymized_at__isnull=True),
                name="customer_id_unique_per_environment",
            )
        ]
        indexes = [
            models.Index(fields=["environment", "status", "id"], name="customer_env_status"),
            models.Index(fields=["environment", "last_name", "id"], name="customer_env_last_name"),
            models.Index(fields=["environment", "score", "id"], name="customer_env_score"),
            models.Index(fields=["environment", "spendable", "id"], name="customer_env_spendable"),
            # Console list sorting and filter bar (customers/migrations/0003_console_indexes.py).
            models.Index(fields=["environment", "email", "id"], name="customer_env_email_id"),
            models.Index(fields=["environment", "spent", "id"], name="customer_env_spent"),
            models.Index(fields=["environment", "expired", "id"], name="customer_env_expired"),
            models.Index(fields=["environment", "first_name", "id"], name="customer_env_first_name"),
            models.Index(fields=["environment", "country", "id"], name="customer_env_country"),
            # Partial: a point event rewrites the customer row with its index entries (score and
            # spendable are indexed, so the update cannot be HOT), and most rows have neither.
            models.Index(
                fields=["merged_into"], condition=Q(merged_into__isnull=False), name="customer_merged_into"
            ),
            models.Index(fields=["referrer"], condition=Q(referrer__isnull=False), name="customer_referrer"),
        ]

    def __str__(self) -> str:
        return self.customer_id

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    # Status rules (001): suspended customers earn but neither spend nor claim; banned and
    # opted-out customers do neither. The ledger and rewards ask these, never the status directly.
    @property
    def can_earn(self) -> bool:
        return self.status not in (CustomerStatus.BANNED, CustomerStatus.OPTED_OUT)

    @property
    def can_spend(self) -> bool:
        return self.status in (CustomerStatus.ACTIVE, CustomerStatus.INACTIVE, CustomerStatus.PENDING)

    @property
    def can_claim(self) -> bool:
        return self.can_spend

    @property
    def is_anonymized(self) -> bool:
        return self.anonymized_at is not None


class CustomField(models.Model):
    """A custom customer attribute defined in settings (001, "Custom attributes")."""

    name = models.SlugField(max_length=64, unique=True, help_text="attribute name in events and the API")
    label = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.STRING)
    choices = models.JSONField(default=list, blank=True, help_text="allowed values for the choice type")
    regex = models.CharField(max_length=300, blank=True)
    required_on_opt_in = models.BooleanField(default=False)
    read_only = models.BooleanField(default=False)
    external_id = models.BooleanField(default=False, help_text="irreversible: usable as field:value IDs")
    searchable = models.BooleanField(default=False, help_text="exact search in GET /api/customers")
    position = models.PositiveIntegerField(default=0)
    # Optional bounds: numbers between min_value and max_value, strings at most
    # max_length characters (never more than 1000, the engine's limit for any custom string).
    min_value = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="numbers: the smallest value allowed",
    )
    max_value = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, help_text="numbers: the largest value allowed"
    )
    max_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="strings: the most characters allowed (at most 1000)"
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.label or self.name

    # The engine caches field definitions (customers.fields, through loyalty.configcache); a change must reach the next event.
    # Tagging a field external_id indexes the values customers already have.
    def save(self, *args, **kwargs):
        newly_external = self.external_id and (
            self.pk is None or not CustomField.objects.filter(pk=self.pk, external_id=True).exists()
        )
        super().save(*args, **kwargs)
        configcache.changed()
        if newly_external:
            index_external_ids(self.name)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result


class ExternalId(models.Model):
    """Index of external-ID custom fields, so `field:value` resolves with one indexed lookup.

    Written only by the lifecycle handlers when a field tagged `external_id` changes.
    """

    environment = models.CharField(max_length=10, choices=Environment.choices)
    field = models.SlugField(max_length=64)
    value = models.CharField(max_length=300)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_ids")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "field", "value"], name="external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.field}:{self.value}"


def index_external_ids(name: str) -> int:
    """Fill the ExternalId index for a field just tagged `external_id` from the values customers
    already have. The first customer holding a value keeps it; later duplicates are not indexed
    (their profile events will report the conflict). Returns the number of values indexed."""
    rows = (
        Customer.objects.filter(anonymized_at__isnull=True, custom__has_key=name)
        .order_by("pk")
        .values_list("pk", "environment", "custom")
    )
    batch, indexed = [], 0
    for pk, environment, custom in rows.iterator(chunk_size=2000):
        value = (custom or {}).get(name)
        if value in (None, "") or len(str(value)) > 300:
            continue  # too long for the index: never cut (a cut value could match another's; §6)
        batch.append(ExternalId(environment=environment, field=name, value=str(value), customer_id=pk))
        if len(batch) >= 1000:
            indexed += len(ExternalId.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        indexed += len(ExternalId.objects.bulk_create(batch, ignore_conflicts=True))
    return indexed
