"""Customer API: read a customer (with data extensions), search, point lots, merge, the Display-API
opt-in and the Entities API. `{id}` is a customer ID or `field:value` for an external ID.
Writes go through `events.engine.register_event` only."""

from __future__ import annotations

import logging

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from customers.choices import CustomerStatus
from customers.filtersets import CustomerSearchFilterSet
from customers.lookup import find_customer
from customers.models import Customer, CustomField
from customers.verification import make_token
from events.api.views import event_response, register_from_request
from events.filtersets import TIMESTAMP_LOOKUPS
from loyalty.api import errors as api_errors
from loyalty.api import idempotency, paging, schema
from loyalty.api.filtering import NON_FILTERS, filtered
from loyalty.api.models import Scope
from loyalty.api.requests import bulk_items, find_or_404, json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import CustomerNotFound, EngineError, MissingParameter, ValidationError
from loyalty.ledger.accounts import account_by_id
from loyalty.ledger.filtersets import PointLotFilterSet
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


def search_limit(params) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return MAX_SEARCH_RESULTS
    if not is_digits(raw) or not 1 <= int(raw) <= MAX_SEARCH_RESULTS:
        raise ValidationError(
            f"'limit' must be a whole number from 1 to {MAX_SEARCH_RESULTS}.", field="limit"
        )
    return int(raw)


SEARCH_CRITERIA = ("_id", "email")


class CustomerSearchView(ApiView):
    """The parameters are `customers.filtersets.CustomerSearchFilterSet`'s: an unknown name, a bad
    value or a NUL character is a 400 naming the parameter."""

    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_search",
        summary="Find customers by exact value of _id, email or a searchable custom field",
        parameters=[
            OpenApiParameter("_id", str, description="customer ID"),
            OpenApiParameter("email", str, description="e-mail address (exact, case-sensitive)"),
            *[
                OpenApiParameter(
                    f"updated_at.{lookup}", str, description=f"updated {meaning} (ISO 8601 or Unix s)"
                )
                for lookup, meaning in TIMESTAMP_LOOKUPS.items()
            ],
            OpenApiParameter(
                "limit", int, description=f"1-{MAX_SEARCH_RESULTS} (default {MAX_SEARCH_RESULTS})"
            ),
            OpenApiParameter("offset", int, description="rows to skip"),
        ],
        responses=schema.reads(
            inline_serializer("CustomerList", {"customers": CustomerSerializer(many=True)})
        ),
        tags=["customers"],
    )
    def get(self, request):
        params = request.query_params
        limit, offset = search_limit(params), paging.page_offset(params)
        searchable = list(CustomField.objects.filter(searchable=True).values_list("name", flat=True))
        queryset = filtered(
            CustomerSearchFilterSet,
            params,
            Customer.objects.filter(environment=request.auth.environment, anonymized_at__isnull=True),
            strict_names=True,
            searchable=searchable,
        )
        used = [name for name in params if name not in NON_FILTERS and params.get(name) != ""]
        if not used:
            raise MissingParameter(
                "Give _id, email, updated_at.gt or a searchable custom field to search by.", field="email"
            )
        rows = queryset.select_related("referrer").order_by("id")[offset : offset + limit]
        return Response({"customers": [customer_object(c) for c in rows]})


class CustomerCountView(ApiView):
    """`GET /customers/-/count`: the number of active customers (the reference's definition)."""

    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_count",
        summary="The number of active customers",
        responses=schema.reads(inline_serializer("CustomerCount", {"count": serializers.IntegerField()})),
        tags=["customers"],
    )
    def get(self, request):
        count = Customer.objects.filter(
            environment=request.auth.environment, status=CustomerStatus.ACTIVE, anonymized_at__isnull=True
        ).count()
        return Response({"count": count})


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
        queryset = filtered(PointLotFilterSet, params, PointLot.objects.filter(customer=customer))
        if cursor is not None:
            queryset = queryset.filter(id__lt=paging.cursor_id(cursor[0]))
        rows, next_cursor = paging.page(
            list(queryset.order_by("-id")[: limit + 1]), limit, lambda lot: (lot.pk,)
        )
        return Response({"points": [lot_object(lot) for lot in rows], "next": next_cursor})


class MergeRequestSerializer(serializers.Serializer):
    target = serializers.CharField(  # type: ignore[assignment]
        required=False, help_text="the reference's form: {id} is merged into this customer"
    )
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, help_text="the older form, kept because it names the other side: merged into {id}"
    )
    mode = serializers.CharField(required=False, help_text="partial (default) or full")
    reason = serializers.CharField(required=False)


class CustomerMergeView(ApiView):
    """`POST /customers/{id}/merge` with `{"target": T}` merges {id} into T, as the reference does:
    the `merge` event is registered on T with `data.source` = {id}. `{"source": S}` (this API's
    first form) still merges S into {id}; naming both, or neither, is a 400."""

    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_merge",
        summary="Merge this customer into `target` (registers a merge event on the target)",
        parameters=[schema.CUSTOMER_REF, schema.IDEMPOTENCY_KEY],
        request=MergeRequestSerializer,
        responses=schema.writes(CustomerWithEventsSerializer),
        tags=["customers"],
    )
    def post(self, request, id):
        body = json_body(request)
        target, source = body.get("target"), body.get("source")
        if target not in (None, "") and source not in (None, ""):
            raise ValidationError("Give either 'target' or 'source', not both.", field="target")
        if target in (None, "") and source in (None, ""):
            raise MissingParameter("Missing required parameter 'target'.", field="target")
        for name, value in (("target", target), ("source", source)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"Parameter {name!r} must be a string.", field=name)
        data = {k: v for k, v in body.items() if k in ("mode", "reason")}
        if target:
            data["source"] = id
            result = register_from_request(request, {"data": data}, action="merge", customer=target)
        else:
            data["source"] = source
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
        result = register_from_request(
            request, {"data": dict(json_body(request))}, action="opt_in", customer=id
        )
        body = customer_object(result.customer)
        if result.customer.status == CustomerStatus.PENDING:
            body["verification_token"] = make_token(result.customer)  # for GET /customers/-/verify
        return Response(body)


class EntityRequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["GET", "PUT", "POST"])
    type = serializers.ChoiceField(choices=["core/customer"])
    id = serializers.CharField(help_text="customer ID or field:value")
    data = serializers.DictField(required=False)  # type: ignore[assignment]


ENTITY_TYPE = "core/customer"


ERROR_HANDLING = ("skip", "pre-check", "fail")


def apply_entity(request, entity, *, dry_run: bool = False) -> dict:
    """One entity operation: GET reads, PUT updates the profile (a `profile` event, which creates
    an inactive customer when anonymous registration is on), POST enrolls (`opt_in`). With
    `dry_run`, the event is validated and explained but nothing is stored."""
    if not isinstance(entity, dict):
        raise ValidationError("Each entity must be an object.", field="entities")
    method = str(entity.get("method") or "").upper()
    if entity.get("type") != ENTITY_TYPE:
        raise ValidationError(f"Unsupported entity type; use {ENTITY_TYPE!r}.", field="type")
    ref = entity.get("id")
    if not isinstance(ref, str) or not ref:
        raise MissingParameter("Missing required parameter 'id'.", field="id")
    if method == "GET":
        return {"status": 200, "entity": customer_object(find_or_404(request, ref))}
    if method not in ("PUT", "POST"):
        raise ValidationError("'method' must be GET, PUT or POST.", field="method")
    action = "profile" if method == "PUT" else "opt_in"
    existed = find_customer(request.auth.environment, ref) is not None
    result = register_from_request(
        request, {"data": entity.get("data") or {}}, action=action, customer=ref, dry_run=dry_run
    )
    return {
        "status": 201 if result.customer_created and not existed else 200,
        "entity": customer_object(result.customer),
    }


def error_handling_mode(request) -> str:
    body = json_body(request, optional=True)
    mode = body.get("error_handling", request.query_params.get("error_handling")) or "skip"
    if mode not in ERROR_HANDLING:
        raise ValidationError("'error_handling' must be skip, pre-check or fail.", field="error_handling")
    return mode


ENTITIES_SCHEMA = dict(
    operation_id="entities",
    summary="Entities API: GET / PUT / POST core/customer entities, each with its own result",
    request=inline_serializer(
        "EntitiesRequest",
        {
            "entities": EntityRequestSerializer(many=True),
            "error_handling": serializers.ChoiceField(choices=ERROR_HANDLING, required=False),
        },
    ),
    parameters=[
        OpenApiParameter("error_handling", str, enum=list(ERROR_HANDLING)),
        schema.IDEMPOTENCY_KEY,
    ],
    responses=schema.writes(
        inline_serializer(
            "EntitiesResponse",
            {
                "results": serializers.ListField(child=serializers.DictField()),
                "total": serializers.IntegerField(),
                "errors": serializers.IntegerField(),
            },
        )
    ),
    tags=["customers"],
)


class _Undo(Exception):
    def __init__(self, results):
        super().__init__("an entity failed")
        self.results = results


class EntitiesView(ApiView):
    """`error_handling` (body or query): `skip` (default) applies every entity it can and reports
    each failure; `pre-check` first validates every entity (a dry run of each) and applies none if
    any fails; `fail` stops at the first failure: earlier entities stay applied, later ones are
    reported as not processed (`status` 424, code 140424)."""

    required_scope = Scope.ENTITIES
    atomic_post = False  # each entity operation commits on its own

    @extend_schema(**ENTITIES_SCHEMA)
    def post(self, request):
        items = bulk_items(request.data, "entities")
        mode = error_handling_mode(request)
        if mode == "pre-check":
            checked = [self.run(request, entity, dry_run=True) for entity in items]
            if any("error" in result for result in checked):
                return Response(self.envelope(checked, applied=False))
            return self.all_or_nothing(request, items)
        results = []
        # With an Idempotency-Key each entity is applied exactly once, even when a retry follows a
        # process that died mid-batch (loyalty.api.idempotency: the item records).
        record = getattr(request, "_idempotency", None)
        applied = idempotency.applied_items(record)
        for index, entity in enumerate(items):
            if index in applied:
                results.append(applied[index])
                continue
            if mode == "fail" and any("error" in result for result in results):
                error = api_errors.NotProcessed(
                    "Not processed: an earlier entity failed (error_handling=fail)."
                )
                results.append({**self.head(entity), "status": error.status, "error": error.as_dict()})
                continue
            with transaction.atomic():
                result = self.run(request, entity)
                if "error" not in result:
                    idempotency.complete_item(record, index, result)
            results.append(result)
        return Response(self.envelope(results, applied=True))

    def all_or_nothing(self, request, items) -> Response:
        """pre-check after every dry run passed: apply the entities in one transaction, so one
        that fails now (its customer changed since the check) undoes the others — the answer
        is then `applied: false` with that entity's error, and nothing is stored. The key's
        response is stored in the same transaction."""
        try:
            with transaction.atomic():
                results = []
                for entity in items:
                    with transaction.atomic():
                        results.append(self.run(request, entity))
                    if "error" in results[-1]:
                        raise _Undo(results)
                body = self.envelope(results, applied=True)
                record = getattr(request, "_idempotency", None)
                if record is not None:
                    idempotency.complete(record, 200, JSONRenderer().render(body))
                return Response(body)
        except _Undo as undo:
            return Response(self.envelope(undo.results, applied=False))

    @extend_schema(**{**ENTITIES_SCHEMA, "operation_id": "entities_put"})
    def put(self, request):
        """001: "Bulk submission of customers using a PUT request to /entities" - the same operation."""
        return self.post(request)

    @staticmethod
    def head(entity) -> dict:
        return {k: entity.get(k) for k in ("method", "type", "id")} if isinstance(entity, dict) else {}

    def run(self, request, entity, *, dry_run=False) -> dict:
        head = self.head(entity)
        try:
            return {**head, **apply_entity(request, entity, dry_run=dry_run)}
        except EngineError as error:
            return {**head, "status": error.status, "error": error.as_dict()}
        except Exception:
            log.exception("Unexpected error in an entity operation")
            return {**head, "status": 500, "error": api_errors.InternalError().as_dict()}

    @staticmethod
    def envelope(results, *, applied: bool) -> dict:
        failed = sum(1 for result in results if "error" in result)
        return {"results": results, "total": len(results), "errors": failed, "applied": applied}
