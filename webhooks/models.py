"""Webhooks: trusted sites and subscriptions (outgoing), the delivery log, incoming endpoints and
their request log. Secrets are stored encrypted (webhooks.secrets); the delivery and request logs
hold personal data and are scrubbed on opt-out (webhooks.privacy) and cleaned after the retention
period (webhooks.delivery.cleanup)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from events.models import Event
from loyalty import configcache
from loyalty.choices import Environment

from .choices import (
    AuthMethod,
    ContentType,
    DeliverySource,
    DeliveryStatus,
    FilterMode,
    HmacAlgorithm,
    HmacEncoding,
    IncomingAuth,
    IncomingStatus,
    JwtAlgorithm,
    RequestMethod,
)

SUBSCRIPTIONS_CACHE_KEY = "webhooks:subscriptions:v1"
EXCERPT_CHARS = 2000


class TrustedSite(models.Model):
    """A site the engine may call (the reference's Trusted sites). Only these can be called: a
    workflow or subscription names a site and a path below its URL, never a free URL."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500, help_text="base URL; a subscription's path is added to it")
    content_type = models.CharField(max_length=40, choices=ContentType.choices, default=ContentType.JSON)
    auth_method = models.CharField(max_length=20, choices=AuthMethod.choices, default=AuthMethod.NONE)
    username = models.CharField(
        "username / key ID / client ID",
        max_length=200,
        blank=True,
        help_text="Basic: the username; AWS: the access key ID; OAuth: the client ID",
    )
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=12, blank=True, editable=False)
    jwt_algorithm = models.CharField(max_length=5, choices=JwtAlgorithm.choices, default=JwtAlgorithm.HS256)
    jwt_claims = models.JSONField(default=dict, blank=True, help_text="JWT payload claims (JSON object)")
    aws_region = models.CharField("AWS region", max_length=50, blank=True, help_text="AWS: e.g. eu-west-1")
    aws_service = models.CharField(
        "AWS service", max_length=50, blank=True, help_text="AWS: e.g. execute-api"
    )
    aws_algorithm_prefix = models.CharField(
        "algorithm prefix",
        max_length=20,
        blank=True,
        help_text="AWS: optional algorithm prefix (empty: AWS4)",
    )
    aws_vendor_key = models.CharField(
        "vendor key",
        max_length=20,
        blank=True,
        help_text="AWS: optional vendor key (empty: AWS4, the X-Amz-* headers)",
    )
    oauth_token_url = models.URLField(
        "OAuth token URL", max_length=500, blank=True, help_text="OAuth: the token endpoint"
    )
    oauth_scope = models.CharField(
        "OAuth scope", max_length=500, blank=True, help_text="OAuth: optional scope"
    )
    timeout_seconds = models.PositiveSmallIntegerField(default=10, help_text="1 to 60 seconds")
    max_concurrency = models.PositiveSmallIntegerField(default=4, help_text="requests in flight at once")
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    circuit_open_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "trusted site"

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A site receiving the events of the listed actions, rendered by a payload template."""

    name = models.CharField(max_length=100, unique=True)
    site = models.ForeignKey(TrustedSite, on_delete=models.PROTECT, related_name="subscriptions")
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    actions = models.JSONField(default=list, help_text="event actions; * for every action")
    path = models.CharField(max_length=500, blank=True, help_text="below the site URL; a template")
    payload_template = models.TextField(blank=True, help_text="a template; empty: the standard payload")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result


class WebhookSettings(models.Model):
    """One row: log retention and the Resync target (000's marketing-automation sync)."""

    retention_days = models.PositiveIntegerField(default=90, help_text="days a log entry is kept")
    sync_site = models.ForeignKey(
        TrustedSite,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the marketing-automation site Resync sends to",
    )
    sync_path = models.CharField(max_length=500, blank=True, help_text="below the site URL; a template")
    sync_fields = models.JSONField(default=list, blank=True, help_text="customer fields Resync sends")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook settings"
        verbose_name_plural = "webhook settings"

    def __str__(self) -> str:
        return "Webhook settings"

    @classmethod
    def current(cls) -> WebhookSettings:
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class Delivery(models.Model):
    """One message to a trusted site and its delivery state (the webhook log). `msg_id` is the
    `webhook-id` header: the same on every attempt and replay, so receivers can de-duplicate."""

    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    site = models.ForeignKey(TrustedSite, on_delete=models.PROTECT, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=12, choices=DeliverySource.choices)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=100, blank=True)
    msg_id = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=1000, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)  # the sending worker's batch (per-site limit)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due"),
            models.Index(fields=["customer", "-id"], name="webhook_customer"),
            models.Index(fields=["site", "claimed_until"], name="webhook_in_flight"),
        ]
        constraints = [
            # One delivery per subscription and event: a dispatch that runs twice sends once.
            models.UniqueConstraint(
                fields=["subscription", "event"],
                condition=Q(subscription__isnull=False, event__isnull=False),
                name="webhook_once_per_subscription_event",
            )
        ]

    def __str__(self) -> str:
        return self.msg_id


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what came back, how long it took, or why it failed."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    url = models.CharField(max_length=1000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class IncomingEndpoint(models.Model):
    """`POST|PUT /api/hooks/<name>`: a request that passes the authentication and the filters is
    mapped to one event (action, customer and attributes from expressions over body/headers)."""

    name = models.SlugField(max_length=100, unique=True)
    method = models.CharField(max_length=4, choices=RequestMethod.choices, default=RequestMethod.POST)
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    action = models.CharField(max_length=100)
    customer_expression = models.CharField(max_length=500, help_text="e.g. body.customer_id")
    attributes = models.JSONField(default=dict, blank=True, help_text="attribute → expression")
    filters = models.JSONField(default=list, blank=True, help_text="expressions that must be true")
    filter_mode = models.CharField(max_length=3, choices=FilterMode.choices, default=FilterMode.ALL)
    auth_method = models.CharField(
        max_length=20, choices=IncomingAuth.choices, default=IncomingAuth.STANDARD_WEBHOOKS
    )
    auth_header = models.CharField(
        max_length=100, blank=True, help_text="signature or token header (or body.<attribute> for a token)"
    )
    hmac_algorithm = models.CharField(
        max_length=6, choices=HmacAlgorithm.choices, default=HmacAlgorithm.SHA256
    )
    hmac_encoding = models.CharField(max_length=6, choices=HmacEncoding.choices, default=HmacEncoding.HEX)
    hmac_prefix = models.CharField(max_length=20, blank=True, help_text="e.g. sha256=")
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=12, blank=True, editable=False)
    rate_limit = models.PositiveIntegerField(default=600, help_text="requests a minute")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "incoming webhook"

    def __str__(self) -> str:
        return self.name


class IncomingRequest(models.Model):
    """One received request: what came in (headers without credentials, the body cut at a size),
    and the event it became or the reason it was refused."""

    endpoint = models.ForeignKey(
        IncomingEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="requests"
    )
    # The name in the URL: an unknown endpoint's requests are logged with it (and no endpoint).
    endpoint_name = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=8)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=IncomingStatus.choices)
    http_status = models.PositiveSmallIntegerField()
    code = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    dedup_key = models.CharField(max_length=200, blank=True)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_incoming_endpoint")]
        constraints = [
            # Idempotency-Key / webhook-id: one accepted request per key and endpoint.
            models.UniqueConstraint(
                fields=["endpoint", "dedup_key"],
                condition=Q(status=IncomingStatus.ACCEPTED) & ~Q(dedup_key=""),
                name="webhook_incoming_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint_id} {self.status}"
