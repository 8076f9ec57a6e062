"""Opt-out scrubbing for the webhook logs (customers.hooks.PERSONAL_DATA_SCRUBBERS).

The customer's deliveries (request bodies, paths, responses, attempt responses) and received
requests naming the customer (linked, or holding one of its identifying values — refused requests
are not linked to anyone) keep their dates, statuses and codes; their contents are replaced."""

from __future__ import annotations

from django.db.models import Q

from .choices import PENDING, DeliveryStatus
from .models import Delivery, DeliveryAttempt, IncomingRequest

SCRUBBED = "[anonymized]"


def _mentions(field: str, values) -> Q:
    query = Q(pk__in=[])
    for value in values:
        if isinstance(value, str) and len(value) >= 3:
            query |= Q(**{f"{field}__contains": value})
    return query


def scrub_customer(customer, original_values: dict) -> None:
    values = [v for v in original_values.get("values", []) if isinstance(v, str) and v]
    deliveries = Delivery.objects.filter(Q(customer=customer) | _mentions("body", values))
    DeliveryAttempt.objects.filter(delivery__in=deliveries).update(response=SCRUBBED, url="")
    deliveries.update(body=SCRUBBED, path="", last_response=SCRUBBED, last_error="")
    # What was still waiting is not sent: it would carry nothing but the placeholder.
    deliveries.filter(status__in=PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Not sent: the customer opted out."
    )
    IncomingRequest.objects.filter(
        Q(customer=customer) | _mentions("body", values) | _mentions("reason", values)
    ).update(body=SCRUBBED, headers={}, reason=SCRUBBED, remote_addr=None)
