"""Customer API: read a customer (with data extensions), search, point lots, merge, the Display-API
opt-in and the Entities API. `{id}` is a customer ID or `field:value` for an external ID.
Writes go through `events.engine.register_event` only."""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from customers.lookup import find_customer
from customers.models import Customer, CustomField
from events.api.views import bulk_items, event_response, find_or_404, register_from_request
from loyalty.api import errors as api_errors
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.errors import CustomerNotFound, EngineError, MissingParameter, ValidationError
from loyalty.ledger.accounts import account_by_id
from loyalty.models import PointLot

from . import extensions
from .serializers import CustomerSerializer, CustomerWithEventsSerializer, customer_object, read_customer

log = logging.getLogger("loyalty.api")
MAX_SEARCH_RESULTS = 100

FIELDS_PARAMETER = OpenApiParameter(
    "fields",
    str,
    description="comma-separated data extensions: purchases, purchases.<period> (today, yesterday, last_month, "
    "this_month|mtd, this_year|ytd, this_week|wtd, this_quarter|qtd, last_30days, last_12months, "
    "last_24months), purchases.history, expiring_points, expiring_points.history, accounts.expiring_points, "
    "segments (the segments the customer is in), lists (the customer lists)",
)


class CustomerDetailView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_read",
        summary="Read a customer (the Customer API object)",
        parameters=[schema.CUSTOMER_REF, FIELDS_PARAMETER],
        responses=schema.reads(CustomerSerializer),
        tags=["customers"],
    )
    def get(self, request, id):
        fields = extensions.parse_fields(request.query_params.get("fields"))
        if not id:
            raise MissingParameter("Missing customer ID.", field="customer")
        customer, referral = read_customer(request.auth.environment, id)
        if customer is None:
            raise CustomerNotFound(f"Customer {id[:200]!r} not found.", field="customer")
        return Response(customer_object(customer, fields=fields, referral=referral))


class CustomerSearchView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_search",
        summary="Find customers by exact value of _id, email or a searchable custom field",
        parameters=[
            OpenApiParameter("_id", str, description="customer ID"),
            OpenApiParameter("email", str, description="e-mail address (exact, case-sensitive)"),
        ],
        responses=schema.reads(
            inline_serializer("CustomerList", {"customers": CustomerSerializer(many=True)})
        ),
        tags=["customers"],
    )
    def get(self, request):
        params = request.query_params
        queryset = Customer.objects.filter(environment=request.auth.environment, anonymized_at__isnull=True)
        searchable = set(CustomField.objects.filter(searchable=True).values_list("name", flat=True))
        used = False
        for name, value in params.items():
            if name == "_id":
                queryset = queryset.filter(customer_id=value)
            elif name == "email":
                queryset = queryset.filter(email=value)
            elif name in searchable:
                queryset = queryset.filter(**{f"custom__{name}": value})
            elif name in ("api_key",):
                continue
            else:
                raise ValidationError(f"{name[:100]!r} is not a searchable attribute.", field=name[:100])
            used = True
        if not used:
            raise MissingParameter(
                "Give _id, email or a searchable custom field to search by.", field="email"
            )
        rows = queryset.select_related("referrer").order_by("id")[:MAX_SEARCH_RESULTS]
        return Response({"customers": [customer_object(c) for c in rows]})


class LotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField()
    event = serializers.IntegerField()
    points = serializers.IntegerField()
    used = serializers.IntegerField()
    expired = serializers.IntegerField()
    remaining = serializers.IntegerField()
    status = serializers.CharField()
    activates_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def lot_object(lot) -> dict:
    return {
        "id": lot.pk,
        "account": account_by_id(lot.account_id).code,
        "event": lot.event_id,
        "points": lot.points,
        "used": lot.used,
        "expired": lot.expired_points,
        "remaining": lot.remaining,
        "status": lot.status,
        "activates_at": lot.activates_at.isoformat() if lot.activates_at else None,
        "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
        "created_at": lot.created_at.isoformat(),
    }


class CustomerPointsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_points",
        summary="A customer's point lots (newest first) with remaining points and expiration",
        parameters=[
            schema.CUSTOMER_REF,
            OpenApiParameter("status", str, enum=["pending", "active", "exhausted", "expired"]),
            *schema.PAGE_PARAMETERS,
        ],
        responses=schema.reads(
            inline_serializer(
                "PointLotPage",
                {"points": LotSerializer(many=True), "next": serializers.CharField(allow_null=True)},
            )
        ),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        params = request.query_params
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 1)
        queryset = PointLot.objects.filter(customer=customer)
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        if cursor is not None:
            if not isinstance(cursor[0], int):
                raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
            queryset = queryset.filter(id__lt=cursor[0])
        rows, next_cursor = paging.page(
            list(queryset.order_by("-id")[: limit + 1]), limit, lambda lot: (lot.pk,)
        )
        return Response({"points": [lot_object(lot) for lot in rows], "next": next_cursor})


class MergeRequestSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="the customer merged into {id} (alias: customer)")  # type: ignore[assignment]
    reason = serializers.CharField(required=False)


class CustomerMergeView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_merge",
        summary="Merge another customer into this one (registers a merge event)",
        parameters=[schema.CUSTOMER_REF, schema.IDEMPOTENCY_KEY],
        request=MergeRequestSerializer,
        responses=schema.writes(CustomerWithEventsSerializer),
        tags=["customers"],
    )
    def post(self, request, id):
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise ValidationError("The request body must be an object.")
        data = {k: v for k, v in body.items() if k != "customer"}
        data.setdefault("source", body.get("customer"))
        result = register_from_request(request, {"data": data}, action="merge", customer=id)
        return Response(event_response(result))


class OptInRequestSerializer(serializers.Serializer):
    password = serializers.CharField(required=False)
    confirm_password = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    birth_date = serializers.DateField(required=False)
    gender = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    mobile_phone = serializers.CharField(required=False)
    handler = serializers.CharField(required=False)


class CustomerOptInView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_opt_in",
        summary="Display API: enroll a customer with profile fields (registers opt_in)",
        parameters=[schema.CUSTOMER_REF, schema.IDEMPOTENCY_KEY],
        request=OptInRequestSerializer,
        responses=schema.writes(CustomerSerializer),
        tags=["customers"],
    )
    def post(self, request, id):
        if not isinstance(request.data, dict):
            raise ValidationError("The request body must be an object.")
        result = register_from_request(request, {"data": dict(request.data)}, action="opt_in", customer=id)
        return Response(customer_object(result.customer))


class EntityRequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["GET", "PUT", "POST"])
    type = serializers.ChoiceField(choices=["core/customer"])
    id = serializers.CharField(help_text="customer ID or field:value")
    data = serializers.DictField(required=False)  # type: ignore[assignment]


ENTITY_TYPE = "core/customer"


def apply_entity(request, entity) -> dict:
    """One entity operation: GET reads, PUT updates the profile (a `profile` event, which creates
    an inactive customer when anonymous registration is on), POST enrolls (`opt_in`)."""
    if not isinstance(entity, dict):
        raise ValidationError("Each entity must be an object.", field="entities")
    method = str(entity.get("method") or "").upper()
    if entity.get("type") != ENTITY_TYPE:
        raise ValidationError(f"Unsupported entity type; use {ENTITY_TYPE!r}.", field="type")
    ref = entity.get("id")
    if not isinstance(ref, str) or not ref:
        raise MissingParameter("Missing required parameter 'id'.", field="id")
    if method == "GET":
        return {"status": 200, "data": customer_object(find_or_404(request, ref))}
    if method not in ("PUT", "POST"):
        raise ValidationError("'method' must be GET, PUT or POST.", field="method")
    action = "profile" if method == "PUT" else "opt_in"
    existed = find_customer(request.auth.environment, ref) is not None
    result = register_from_request(request, {"data": entity.get("data") or {}}, action=action, customer=ref)
    return {
        "status": 201 if result.customer_created and not existed else 200,
        "data": customer_object(result.customer),
    }


class EntitiesView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="entities",
        summary="Entities API: GET / PUT / POST core/customer entities, each with its own result",
        request=inline_serializer("EntitiesRequest", {"entities": EntityRequestSerializer(many=True)}),
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.writes(
            inline_serializer(
                "EntitiesResponse",
                {
                    "entities": serializers.ListField(child=serializers.DictField()),
                    "total": serializers.IntegerField(),
                    "errors": serializers.IntegerField(),
                },
            )
        ),
        tags=["customers"],
    )
    def post(self, request):
        items = bulk_items(request.data, "entities")
        results, failed = [], 0
        for entity in items:
            head = {k: entity.get(k) for k in ("method", "type", "id")} if isinstance(entity, dict) else {}
            try:
                results.append({**head, **apply_entity(request, entity)})
            except EngineError as error:
                failed += 1
                results.append({**head, "status": error.status, "error": error.as_dict()})
            except Exception:
                log.exception("Unexpected error in an entity operation")
                failed += 1
                results.append({**head, "status": 500, "error": api_errors.InternalError().as_dict()})
        return Response({"entities": results, "total": len(items), "errors": failed})
