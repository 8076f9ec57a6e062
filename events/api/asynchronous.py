"""Async Events API (reference-behaviour.md §8.3):

    POST /api/v1/async/events                    -> {"status": "success", "metadata": {},
                                                     "payload": {"correlation_id": ..., "status": "queued"}}
    GET  /api/v1/async/events/{correlation_id}   -> payload status "queued", "processed" (with
                                                     `response`, the synchronous API's answer) or
                                                     "error" (with `error`, the envelope's object);
                                                     400 code 203408 for an unknown ID

The request is checked at once (shape, an action the reference accepts asynchronously, a string
customer), stored as an `AsyncEvent` row and handed to django-q2 after commit. `process()` runs
in the worker: it locks the row, registers the event through `register_event` and records the
outcome in the same transaction, so however often the task runs (retries, a redelivered task)
the event is registered exactly once. A client-chosen `correlation_id` is idempotent: the same ID
with the same body answers the existing row; with another body it is a 409 (code 140409).
Authentication is the synchronous API's (Escher, scope `events:write`), not the reference's OAuth2.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid

from django.db import IntegrityError, transaction
from django_q.tasks import async_task
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.choices import EventSource
from events.engine import register_event
from loyalty import clock
from loyalty.api import errors as api_errors
from loyalty.api import schema
from loyalty.api.models import AsyncEvent, AsyncEventStatus, Scope
from loyalty.api.views import ApiView
from loyalty.errors import EngineError, ValidationError

from .serializers import EventRequestSerializer, event_request
from .views import event_response

log = logging.getLogger("loyalty.api")

# The actions the reference processes asynchronously (§8.3); the item-level ones it lists
# (checkout_item, checkout_update_item, checkout_accept_item) are refused here as they are by
# the synchronous API (internal, or module disabled).
ASYNC_ACTIONS = frozenset(
    {
        "point_add",
        "checkout",
        "checkout_update",
        "checkout_accept",
        "checkout_reject",
        "partial_refund",
        "refund_item",
        "refund",
        "opt_in",
        "opt_out",
        "profile",
    }
)
UNKNOWN_CORRELATION_ID = 203408


class CorrelationIdNotFound(EngineError):
    code = UNKNOWN_CORRELATION_ID
    status = 400
    type = "BadRequestException"
    default_message = "Correlation ID not found."


def fingerprint(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def correlation_id_of(body: dict) -> str:
    value = body.get("correlation_id")
    if value in (None, ""):
        return str(uuid.uuid4())
    if not isinstance(value, str) or len(value) > 128 or not value.isprintable() or "/" in value:
        raise ValidationError(
            "'correlation_id' must be a string of at most 128 printable characters, without '/'.",
            field="correlation_id",
        )
    return value


def envelope(row: AsyncEvent) -> dict:
    payload: dict = {"correlation_id": row.correlation_id, "status": row.status}
    if row.status == AsyncEventStatus.PROCESSED:
        payload["response"] = row.response
    elif row.status == AsyncEventStatus.ERROR:
        payload["error"] = row.response
    return {"status": "success", "metadata": {}, "payload": payload}


def enqueue(request) -> AsyncEvent:
    body = request.data
    fields = event_request(body)  # shape and string customer, as the synchronous API
    if not fields["action"]:
        raise ValidationError("Missing required parameter 'action'.", field="action")
    if fields["action"] not in ASYNC_ACTIONS:
        raise ValidationError(
            f"{fields['action']!r} cannot be sent asynchronously; use POST /events.", field="action"
        )
    if not fields["customer"]:
        raise ValidationError("Missing required parameter 'customer'.", field="customer")
    payload = {name: fields[name] for name in ("customer", "external_id", "action", "account", "data")}
    correlation_id = correlation_id_of(body)
    digest = fingerprint(payload)
    environment = request.auth.environment
    try:
        with transaction.atomic():
            row = AsyncEvent.objects.create(
                api_key=request.auth,
                environment=environment,
                correlation_id=correlation_id,
                payload=payload,
                fingerprint=digest,
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                created_at=clock.now(),
            )
            transaction.on_commit(lambda: schedule(row.pk))
    except IntegrityError:
        row = AsyncEvent.objects.get(environment=environment, correlation_id=correlation_id)
        if row.fingerprint != digest:
            raise api_errors.IdempotencyInProgress(
                f"Correlation ID {correlation_id!r} was used for another event.", field="correlation_id"
            ) from None
    return row


def schedule(pk: int) -> None:
    async_task("events.api.asynchronous.process", pk, task_name=f"async-event-{pk}")


def process(pk: int) -> str:
    """The django-q2 task: register the stored event once; returns the row's final status."""
    with transaction.atomic():
        row = AsyncEvent.objects.select_for_update().filter(pk=pk).first()
        if row is None or row.status != AsyncEventStatus.QUEUED:
            return row.status if row is not None else "missing"
        payload = row.payload
        try:
            with transaction.atomic():
                result = register_event(
                    environment=row.environment,
                    customer=payload["customer"],
                    external_id=payload.get("external_id"),
                    action=payload["action"],
                    account=payload.get("account"),
                    data=payload.get("data") or {},
                    source=EventSource.API,
                    ip_address=row.ip_address,
                    user_agent=row.user_agent,
                )
            row.status, row.response = AsyncEventStatus.PROCESSED, event_response(result)
        except EngineError as error:
            row.status, row.response = AsyncEventStatus.ERROR, error.as_dict()
        row.processed_at = clock.now()
        row.save(update_fields=["status", "response", "processed_at"])
        return row.status


class AsyncEventRequestSerializer(EventRequestSerializer):
    correlation_id = serializers.CharField(required=False, help_text="chosen by the client; else generated")


ASYNC_RESPONSE = inline_serializer(
    "AsyncEventResponse",
    {
        "status": serializers.CharField(),
        "metadata": serializers.DictField(),
        "payload": inline_serializer(
            "AsyncEventPayload",
            {
                "correlation_id": serializers.CharField(),
                "status": serializers.ChoiceField(choices=AsyncEventStatus.values),
                "response": serializers.DictField(required=False),
                "error": serializers.DictField(required=False),
            },
        ),
    },
)


class AsyncEventCreateView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="async_events_create",
        summary="Queue an event (processed by a background worker)",
        request={"application/json": AsyncEventRequestSerializer},
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes(ASYNC_RESPONSE),
        tags=["events"],
    )
    def post(self, request):
        return Response(envelope(enqueue(request)))


class AsyncEventStatusView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="async_events_status",
        summary="The state of a queued event (203408 for an unknown correlation ID)",
        parameters=[OpenApiParameter("correlation_id", str, OpenApiParameter.PATH)],
        responses=schema.reads(ASYNC_RESPONSE),
        tags=["events"],
    )
    def get(self, request, correlation_id):
        row = AsyncEvent.objects.filter(
            environment=request.auth.environment, correlation_id=correlation_id
        ).first()
        if row is None:
            raise CorrelationIdNotFound(
                f"Correlation ID {correlation_id[:128]!r} not found.", field="correlation_id"
            )
        return Response(envelope(row))
