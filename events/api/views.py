"""Events API: register one event or a batch, and read event histories (keyset-paged).

The API writes nothing itself: every change goes through `events.engine.register_event`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from customers.api.serializers import CustomerWithEventsSerializer, customer_object, point_events
from customers.lookup import find_customer
from events.choices import EventSource
from events.engine import register_event
from events.filtersets import EventHistoryFilterSet, parse_timestamp
from events.models import Event
from loyalty.api import errors as api_errors
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.errors import CustomerNotFound, EngineError, MissingParameter, ValidationError

from .serializers import (
    BulkRequestSerializer,
    BulkResponseSerializer,
    EventPageSerializer,
    EventRequestSerializer,
    event_object,
    event_request,
)

log = logging.getLogger("loyalty.api")


def bulk_max() -> int:
    return getattr(settings, "API_BULK_MAX_EVENTS", 500)


def bulk_items(data, name: str) -> list:
    """The list under `name` of a bulk request body, checked: present, a list, not too long."""
    items = data.get(name) if isinstance(data, dict) else None
    if items is None:
        raise MissingParameter(f"Missing required parameter {name!r}.", field=name)
    if not isinstance(items, list):
        raise ValidationError(f"{name!r} must be a list.", field=name)
    if len(items) > bulk_max():
        raise api_errors.TooManyItems(f"At most {bulk_max()} {name} per request.", field=name)
    return items


def truthy(value) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def register_from_request(request, payload, *, dry_run=False, action=None, customer=None):
    """Register one event described by an API payload, on behalf of the request's key."""
    fields = event_request(payload)
    return register_event(
        environment=request.auth.environment,
        customer=customer if customer is not None else fields["customer"],
        external_id=fields["external_id"],
        action=action or fields["action"],
        account=fields["account"],
        data=fields["data"],
        source=EventSource.API,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        dry_run=dry_run,
    )


def event_response(result, *, explain=False) -> dict:
    body = customer_object(result.customer, balances=result.balances_after if result.dry_run else None)
    body["events"] = point_events(result)
    if explain:
        body["explain"] = result.explain()
    return body


CHECKOUT_EXAMPLE = {
    "customer": "374397439743",
    "action": "checkout",
    "data": {
        "total": "200",
        "transaction_id": "5475-4343-4343-4343-3333",
        "items": [
            {
                "product_id": "UFA-8888",
                "product_name": "Yellow T-Shirt",
                "quantity": "1",
                "price": "200",
                "subtotal": "200",
                "product_category": "t-shirts",
            }
        ],
    },
}


class EventCreateView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="events_create",
        summary="Register an event",
        request={
            "application/json": EventRequestSerializer,
            "application/x-www-form-urlencoded": EventRequestSerializer,
        },
        parameters=[
            OpenApiParameter("dry_run", bool, description="explain the effects without storing anything"),
            schema.IDEMPOTENCY_KEY,
        ],
        responses=schema.writes(CustomerWithEventsSerializer),
        examples=[OpenApiExample("checkout", value=CHECKOUT_EXAMPLE, request_only=True)],
        tags=["events"],
    )
    def post(self, request):
        dry_run = truthy(request.query_params.get("dry_run", ""))
        guest = guest_checkout(request, request.data, dry_run=dry_run)
        if guest is not None:
            return Response(guest)
        result = register_from_request(request, request.data, dry_run=dry_run)
        return Response(event_response(result, explain=dry_run))


def guest_checkout(request, payload, *, dry_run=False) -> dict | None:
    """A checkout with `data.guest` and no customer is a guest transaction (001), stored by the
    engine without a profile and claimed later with `checkout_claim` or at enrollment. None for
    any other request."""
    fields = event_request(payload)
    if fields["action"] != "checkout" or fields["customer"] or not fields["data"].get("guest"):
        return None
    result = register_from_request(request, payload, dry_run=dry_run)
    tx = result.extra["transaction"]
    return {
        "customer": None,
        "guest": tx.guest,
        "transaction_id": tx.transaction_id,
        "status": tx.status,
        "events": [],
        "dry_run": dry_run,
    }


class EventBulkView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="events_bulk",
        summary="Register a batch of events, each in its own transaction",
        request={"application/json": BulkRequestSerializer},
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes(BulkResponseSerializer),
        tags=["events"],
    )
    def post(self, request):
        items = bulk_items(request.data, "events")
        results, failed = [], 0
        for item in items:
            try:
                result = register_from_request(request, item)
                results.append({"events": point_events(result)})
            except EngineError as error:
                failed += 1
                results.append({"error": error.as_dict()})
            except Exception:  # one broken event must not stop the others
                log.exception("Unexpected error in a bulk event")
                failed += 1
                results.append({"error": api_errors.InternalError().as_dict()})
        return Response({"results": results, "total": len(items), "errors": failed})


def find_or_404(request, ref: str):

    customer = find_customer(request.auth.environment, ref)
    if customer is None:
        raise CustomerNotFound(f"Customer {ref[:200]!r} not found.", field="customer")
    return customer


class EventHistoryView(ApiView):
    """Shared by the two history endpoints: the filters are `EventHistoryFilterSet`, applied by
    django-filter's DRF backend, which also documents them in the schema. A bad value is a
    DRF ValidationError, which the exception handler turns into the envelope (400, 113400,
    `field` naming the parameter)."""

    required_scope = Scope.CUSTOMERS_READ
    queryset = Event.objects.all()  # names the model for the schema; the views build their own
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventHistoryFilterSet

    def filter_events(self, queryset):
        return DjangoFilterBackend().filter_queryset(self.request, queryset, self)


def cursor_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
    return value


def cursor_time(value) -> dt.datetime:
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError):
            pass
    raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")


class CustomerEventsView(EventHistoryView):
    """One customer's events, newest first."""

    @extend_schema(
        operation_id="customer_events",
        summary="A customer's events (newest first)",
        parameters=[schema.CUSTOMER_REF, *schema.PAGE_PARAMETERS],
        filters=True,
        responses=schema.reads(EventPageSerializer),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        params = request.query_params
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 1)
        queryset = self.filter_events(Event.objects.filter(customer=customer))
        if cursor is not None:
            queryset = queryset.filter(id__lt=cursor_id(cursor[0]))
        rows = list(queryset.order_by("-id")[: limit + 1])
        rows, next_cursor = paging.page(rows, limit, lambda e: (e.pk,))
        return Response(
            {"events": [event_object(e, customer.customer_id) for e in rows], "next": next_cursor}
        )


class EnvironmentEventsView(EventHistoryView):
    """Every customer's events since a time, oldest first: for systems that sync."""

    @extend_schema(
        operation_id="environment_events",
        summary="All customers' events since a time (oldest first)",
        parameters=schema.PAGE_PARAMETERS,
        filters=True,
        responses=schema.reads(EventPageSerializer),
        tags=["customers"],
    )
    def get(self, request):
        params = request.query_params
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 2)
        queryset = self.filter_events(Event.objects.filter(environment=request.auth.environment))
        if cursor is not None:
            after_time, after_id = cursor_time(cursor[0]), cursor_id(cursor[1])
            queryset = queryset.filter(Q(timestamp__gt=after_time) | Q(timestamp=after_time, id__gt=after_id))
        rows = list(queryset.select_related("customer").order_by("timestamp", "id")[: limit + 1])
        rows, next_cursor = paging.page(rows, limit, lambda e: (e.timestamp.isoformat(), e.pk))
        return Response({"events": [event_object(e) for e in rows], "next": next_cursor})
