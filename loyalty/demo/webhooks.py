"""Demo data for the webhooks, added by seed_demo: a marketing-automation trusted site (the Resync
target), a subscription left inactive (the demo never calls out), a log with done, retrying and
failed messages about real demo customers, and an incoming webhook with received requests."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from customers.models import Customer
from loyalty.models import Program
from webhooks import secrets
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    IncomingEndpoint,
    IncomingRequest,
    Subscription,
    TrustedSite,
    WebhookSettings,
)

# (status, attempts, last code, error) of the demo messages, in turn.
OUTCOMES = [
    ("done", 1, 200, ""),
    ("done", 1, 200, ""),
    ("done", 3, 200, ""),
    ("retrying", 2, 503, "HTTP 503"),
    ("failed", 12, 500, "HTTP 500"),
    ("done", 1, 202, ""),
]


def seed_webhooks(*, environment: str = "live", customers: int = 12) -> dict:
    program = Program.objects.order_by("pk").first()
    program.webhooks = program.incoming_webhooks = program.sync = True
    program.save()
    site, _ = TrustedSite.objects.get_or_create(
        name="Marketing automation (demo)",
        defaults={
            "url": "https://marketing.example.com/loyalty",
            "auth_method": "standard_webhooks",
            "secret_encrypted": secrets.encrypt(secrets.new_signing_secret()),
            "secret_hint": "…demo",
        },
    )
    Subscription.objects.get_or_create(
        name="Tier changes to marketing",
        defaults={"site": site, "actions": ["tier_up", "tier_down", "opt_in"], "active": False},
    )
    config = WebhookSettings.current()
    config.sync_site, config.sync_path = site, "contacts/{{ customer.id }}"
    config.sync_fields = ["email", "first_name", "last_name", "language"]
    config.save()
    now = timezone.now()
    rows = Customer.objects.filter(environment=environment, status="active").order_by("pk")[:customers]
    made = 0
    for number, customer in enumerate(rows):
        status, attempts, code, error = OUTCOMES[number % len(OUTCOMES)]
        created = now - dt.timedelta(hours=number * 3 + 1)
        delivery = Delivery.objects.create(
            environment=environment,
            site=site,
            source="resync" if number % 3 == 0 else "subscription",
            customer=customer,
            action="resync" if number % 3 == 0 else "tier_up",
            msg_id=f"msg_demo_{customer.pk}",
            path=f"contacts/{customer.customer_id}",
            body=json.dumps({"type": "customer.sync", "data": {"customer": customer.customer_id}}),
            status=status,
            attempts=attempts,
            last_status_code=code,
            last_response='{"ok": true}' if code < 300 else "Service unavailable",
            last_error=error,
            duration_ms=40 + number * 7,
            next_attempt_at=now + dt.timedelta(minutes=2) if status == "retrying" else None,
            created_at=created,
            completed_at=created if status in ("done", "failed") else None,
        )
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=attempts,
            at=created,
            url=site.url,
            status_code=code,
            duration_ms=delivery.duration_ms or 0,
            response=delivery.last_response,
            error=error,
        )
        made += 1
    endpoint, _ = IncomingEndpoint.objects.get_or_create(
        name="shop-orders",
        defaults={
            "action": "point_add",
            "customer_expression": "body.customer_id",
            "attributes": {"points": "body.total | int", "reason": '"Order " ~ body.order_id'},
            "filters": ['headers.x_topic == "orders/paid"'],
            "auth_method": "bearer",
            "secret_encrypted": secrets.encrypt(secrets.new_token()),
            "secret_hint": "…demo",
        },
    )
    for number, (status, http, reason) in enumerate(
        [
            ("accepted", 200, ""),
            ("filtered", 200, "The request did not match the filters."),
            ("refused", 401, "The bearer token is missing or wrong."),
        ]
    ):
        IncomingRequest.objects.create(
            endpoint=endpoint,
            received_at=now - dt.timedelta(minutes=30 * number),
            method="POST",
            headers={"Content-Type": "application/json", "X-Topic": "orders/paid"},
            body=json.dumps({"order_id": f"D-{100 + number}", "total": 40}),
            status=status,
            http_status=http,
            reason=reason,
        )
    return {"deliveries": made}
