"""Events API: register one event or a batch, and read event histories (keyset-paged).

The API writes nothing itself: every change goes through `events.engine.register_event`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from achievements.models import Achievement
from coupons.models import Reward
from customers.api.serializers import CustomerWithEventsSerializer, event_customer, point_events
from events.choices import EventSource
from events.engine import register_event
from events.filtersets import EventHistoryFilterSet, parse_timestamp
from events.models import Event
from loyalty.api import errors as api_errors
from loyalty.api import idempotency, paging, schema
from loyalty.api.models import Scope
from loyalty.api.requests import bulk_items, find_or_404, truthy
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import EngineError, MissingParameter, ValidationError

from .serializers import (
    BulkRequestSerializer,
    BulkResponseSerializer,
    EventPageSerializer,
    EventRequestSerializer,
    event_object,
    event_request,
)

log = logging.getLogger("loyalty.api")


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
    body = event_customer(result.customer, balances=result.balances_after if result.dry_run else None)
    body["events"] = point_events(result)
    if result.warnings:  # e.g. a checkout's coupon that could not be applied
        body["warnings"] = result.warnings
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


def guest_identifier(payload: dict, fields: dict) -> str | None:
    """The guest of a guest checkout, or None when the request is not one. Two forms:

    - the reference's (§8.3): top-level `"guest": "true"`; the guest is `customer` (e.g. an
      e-mail), else `data.email`;
    - this API's first form: no `customer` and `data.guest` naming the guest.
    """
    flag = payload.get("guest") if isinstance(payload, dict) else None
    data = fields["data"]
    if flag not in (None, "", False):
        if not truthy(flag):
            if str(flag).strip().lower() in {"0", "false", "no", "off"}:
                return None
            raise ValidationError("'guest' must be true or false.", field="guest")
        guest = fields["customer"] or data.get("email") or data.get("guest")
        if not guest or not isinstance(guest, str):
            raise MissingParameter(
                "A guest checkout needs 'customer' (the guest's e-mail or ID).", field="customer"
            )
        return guest
    if fields["customer"] or not data.get("guest"):
        return None
    return str(data["guest"])


def guest_checkout(request, payload, *, dry_run=False) -> dict | None:
    """A guest checkout (001, reference §8.3) is a guest transaction, stored by the engine without
    a profile and claimed later with `checkout_claim` or at enrollment. None for any other request."""
    fields = event_request(payload)
    if fields["action"] != "checkout":
        if isinstance(payload, dict) and truthy(payload.get("guest", "")):
            raise ValidationError("Only a checkout can be a guest event.", field="guest")
        return None
    guest_id = guest_identifier(payload, fields)
    if guest_id is None:
        return None
    result = register_event(
        environment=request.auth.environment,
        customer=None,
        action="checkout",
        account=fields["account"],
        data={**fields["data"], "guest": guest_id},
        source=EventSource.API,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        dry_run=dry_run,
    )
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
    atomic_post = False  # each event commits on its own (one failing does not undo the others)

    @extend_schema(
        operation_id="events_bulk",
        summary="Register a batch of events, each in its own transaction",
        request={"application/json": BulkRequestSerializer},
        parameters=[
            OpenApiParameter("dry_run", bool, description="validate and explain each event, store nothing"),
            schema.IDEMPOTENCY_KEY,
        ],
        responses=schema.writes(BulkResponseSerializer),
        tags=["events"],
    )
    def post(self, request):
        items = bulk_items(request.data, "events")
        dry_run = truthy(request.query_params.get("dry_run", ""))
        results, failed = [], 0
        # With an Idempotency-Key each item is applied exactly once, even when a retry follows a
        # process that died mid-batch (loyalty.api.idempotency: the item records).
        record = None if dry_run else getattr(request, "_idempotency", None)
        applied = idempotency.applied_items(record)
        for index, item in enumerate(items):
            if index in applied:
                results.append(applied[index])
                continue
            try:
                if isinstance(item, dict) and truthy(item.get("guest", "")):
                    # reference §8.3: the bulk API is not for guest checkouts
                    raise ValidationError(
                        "Guest checkouts cannot be sent in bulk; use POST /events.", field="guest"
                    )
                with transaction.atomic():
                    result = register_from_request(request, item, dry_run=dry_run)
                    entry = {"events": point_events(result)}
                    idempotency.complete_item(record, index, entry)
                results.append(entry)
            except EngineError as error:
                failed += 1
                results.append({"error": error.as_dict()})
            except Exception:  # one broken event must not stop the others
                log.exception("Unexpected error in a bulk event")
                failed += 1
                results.append({"error": api_errors.InternalError().as_dict()})
        body = {"results": results, "total": len(items), "errors": failed}
        if dry_run:
            body["dry_run"] = True
        return Response(body)


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


def cursor_time(value) -> dt.datetime:
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError):
            pass
    raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")


class CustomerEventsView(EventHistoryView):
    """One customer's events, newest first by default, in the reference's `{data, prev, next}`."""

    @extend_schema(
        operation_id="customer_events",
        summary="A customer's events (newest first by default)",
        parameters=[schema.CUSTOMER_REF, *schema.ENVELOPE_PARAMETERS],
        filters=True,
        responses=schema.reads(EventPageSerializer),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        queryset = self.filter_events(Event.objects.filter(customer=customer))
        return Response(
            paging.keyset_envelope(
                request,
                queryset,
                keys=("id",),
                parse_cursor=lambda values: [paging.cursor_id(values[0])],
                cursor_of=lambda e: (e.pk,),
                render=with_references(request, lambda e: event_object(e, customer.customer_id)),
                default_order="desc",
            )
        )


def with_references(request, render):
    """`render`, plus `references` on each event when the request asks `references=true` (the
    reference: "the ID and name of any associated challenges/rewards"): a reward claim, its
    coupon and revocation name the reward; an achievement's events name the achievement."""
    if request.query_params.get("references") not in ("true", "1"):
        return render
    names: dict[tuple[str, str], str | None] = {}

    def name_of(kind, ref):
        if (kind, ref) not in names:
            if kind == "reward":
                row = Reward.objects.filter(pk=int(ref)).only("name").first() if is_digits(ref) else None
                names[(kind, ref)] = row.name if row else None
            else:
                row = Achievement.objects.filter(api_name=ref).only("title").first()
                names[(kind, ref)] = row.title if row else None
        return names[(kind, ref)]

    def rendered(event):
        body = render(event)
        data = event.data or {}
        references = []
        for kind, key in (("reward", "reward"), ("challenge", "achievement")):
            ref = data.get(key)
            if isinstance(ref, str | int) and ref != "":
                lookup = "reward" if kind == "reward" else "achievement"
                references.append({"type": kind, "id": str(ref), "name": name_of(lookup, str(ref))})
        body["references"] = references
        return body

    return rendered


class CustomerHistoryView(CustomerEventsView):
    """`/customers/{id}/history`: the reference's alias of `/customers/{id}/events`."""

    @extend_schema(
        operation_id="customer_history",
        summary="Alias of /customers/{id}/events (the reference's /history)",
        parameters=[schema.CUSTOMER_REF, *schema.ENVELOPE_PARAMETERS],
        filters=True,
        responses=schema.reads(EventPageSerializer),
        tags=["customers"],
    )
    def get(self, request, id):
        return super().get(request, id)


class EnvironmentEventsView(EventHistoryView):
    """Every customer's events since a time, oldest first by default: for systems that sync."""

    @extend_schema(
        operation_id="environment_events",
        summary="All customers' events since a time (oldest first by default)",
        parameters=schema.ENVELOPE_PARAMETERS,
        filters=True,
        responses=schema.reads(EventPageSerializer),
        tags=["customers"],
    )
    def get(self, request):
        queryset = self.filter_events(Event.objects.filter(environment=request.auth.environment))
        return Response(
            paging.keyset_envelope(
                request,
                queryset.select_related("customer"),
                keys=("timestamp", "id"),
                parse_cursor=lambda values: [cursor_time(values[0]), paging.cursor_id(values[1])],
                cursor_of=lambda e: (e.timestamp.isoformat(), e.pk),
                render=with_references(request, event_object),
                default_order="asc",
            )
        )
