"""API keys and idempotency records.

The key's secret is stored as it is: Escher (like AWS SigV4) is an HMAC scheme, so the server
must hold the same secret to recompute a request's signature; a one-way hash cannot verify it.
Protect the database (and its backups) as you would protect the secrets themselves. The console
shows a secret only once, when it is created or rotated.
"""

from django.conf import settings
from django.db import models

from loyalty.choices import Environment


class Scope(models.TextChoices):
    EVENTS_WRITE = "events:write", "Register events (POST /api/events, bulk, opt-in, merge)"
    CUSTOMERS_READ = "customers:read", "Read customers, their events and points"
    ENTITIES = "entities", "Entities API (POST /api/entities)"


ALL_SCOPES = [scope.value for scope in Scope]
DEFAULT_RATE_LIMIT = 1500


def default_scopes() -> list[str]:
    return list(ALL_SCOPES)


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField("key ID", max_length=64, unique=True, help_text="the Credential's key part")
    secret = models.CharField(max_length=128, help_text="HMAC secret; stored as-is (see module docstring)")
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    scopes = models.JSONField(default=default_scopes, blank=True)
    allow_unsigned = models.BooleanField(
        default=False, help_text="accept ?api_key=KEY without a signature: for testing only"
    )
    rate_limit = models.PositiveIntegerField(default=DEFAULT_RATE_LIMIT, help_text="requests per minute")
    created_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an `Idempotency-Key` header (kept >= 24 hours).

    The row is inserted before the request is processed, in its own transaction, so the unique
    constraint decides which of two concurrent requests runs; the other waits and replays.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, query and body")
    status = models.CharField(
        max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class AsyncEventStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSED = "processed", "Processed"
    ERROR = "error", "Error"


class AsyncEvent(models.Model):
    """An event sent to `POST /api/v1/async/events` (reference §8.3), processed by a django-q2
    task (loyalty.api.asyncevents). The correlation ID is unique per environment: the client may
    choose it (a retry with the same ID and body answers the same row), else one is generated.
    The task registers the event and records the outcome in one transaction, so the event is
    registered exactly once however often the task runs."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=10, choices=Environment.choices)
    correlation_id = models.CharField(max_length=128)
    payload = models.JSONField(help_text="the event as sent: customer, external_id, action, account, data")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical payload")
    status = models.CharField(
        max_length=10, choices=AsyncEventStatus.choices, default=AsyncEventStatus.QUEUED
    )
    response = models.JSONField(
        null=True, blank=True, help_text="the customer response, or the error envelope"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "correlation_id"], name="async_event_correlation")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="async_event_due")]

    def __str__(self) -> str:
        return f"{self.correlation_id} ({self.status})"
