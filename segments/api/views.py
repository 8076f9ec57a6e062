"""Segments and customer lists in the integration API (signed like the rest of /api/).

- ``GET /api/segments`` (``?status=``, keyset ``limit``/``after``), ``GET /api/segments/{id}``,
  ``GET /api/segments/{id}/members`` (current members, keyset-paged by membership row).
- Customer lists as entities, in the reference's paths (reference-behaviour.md §2.2):
  ``PUT /api/entities/core/customer-list`` create · ``GET`` list · ``GET|POST .../{entity_id}``
  read / update · ``DELETE .../{entity_id}`` archive (only inactive lists; removes the members;
  cannot be undone).
- Bulk membership: ``POST /api/v1/bulk-operation/customer-list/{add|remove}/{customer_list_id}``
  with ``{"customers": [...]}`` -> ``{"status": "success", "metadata": {}, "payload": {"batch_id"}}``;
  ``GET /api/v1/bulk-operation/customer-list/{batch_id}/status`` and ``.../status/errors``
  (``offset``/``limit``, ``metadata.pagination``).

A customer's segments and lists are the Customer API's ``fields=segments,lists`` extensions
(customers.api.serializers). Errors are the usual envelope (EngineError codes, field named).
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.choices import EventSource
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import NotFound, ValidationError

from ..bulk import queue_bulk
from ..lists import set_status
from ..models import BulkOperation, CustomerList, Segment, SegmentMember, Status


def unix(moment) -> int | None:
    return int(moment.timestamp()) if moment else None


def segment_object(segment: Segment, *, full: bool = False) -> dict:
    data = {
        "id": segment.pk,
        "name": segment.name,
        "status": segment.status,
        "type": segment.kind,
        "member_count": segment.member_count,
        "last_built_at": unix(segment.last_built_at),
        "build_seconds": segment.build_seconds,
        "build_status": segment.build_status,
        "created_at": unix(segment.created_at),
    }
    if full:
        data["description"] = segment.description
        data["conditions"] = segment.conditions
    return data


def list_object(customer_list: CustomerList) -> dict:
    return {
        "id": str(customer_list.pk),
        "name": customer_list.name,
        "description": customer_list.description,
        "status": customer_list.status,
        "number_of_customers": customer_list.memberships.count(),
        "created_at": unix(customer_list.created_at),
        "updated_at": unix(customer_list.updated_at),
    }


def _int_ref(value: str, field: str, what: str) -> int:
    if not is_digits(value):
        raise NotFound(f"{what} {value[:50]!r} does not exist.", field=field)
    return int(value)


class SegmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    type = serializers.CharField()
    member_count = serializers.IntegerField()
    last_built_at = serializers.IntegerField(allow_null=True)
    build_seconds = serializers.FloatField(allow_null=True)
    build_status = serializers.ChoiceField(choices=["building", "ready", "failed"])
    created_at = serializers.IntegerField()
    description = serializers.CharField(required=False)
    conditions = serializers.JSONField(required=False)


class CustomerListEntitySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    number_of_customers = serializers.IntegerField()
    created_at = serializers.IntegerField()
    updated_at = serializers.IntegerField()


SEGMENT_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="segment ID")
ENTITY_ID = OpenApiParameter("entity_id", str, OpenApiParameter.PATH, description="customer list ID")
BATCH_ID = OpenApiParameter("batch_id", str, OpenApiParameter.PATH, description="batch ID")


class SegmentListView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="segment_list",
        summary="Segments (not archived unless ?status=archived), keyset-paged",
        parameters=[OpenApiParameter("status", str, enum=Status.values), *schema.PAGE_PARAMETERS],
        responses=schema.reads(
            inline_serializer(
                "SegmentList",
                {"segments": SegmentSerializer(many=True), "next": serializers.CharField(allow_null=True)},
            )
        ),
        tags=["segments"],
    )
    def get(self, request):
        status = request.query_params.get("status")
        limit = paging.page_limit(request.query_params)
        cursor = paging.decode_cursor(request.query_params, 1)
        qs = Segment.objects.order_by("id")
        if status:
            if status not in Status.values:
                raise ValidationError(f"'status' must be one of {', '.join(Status.values)}.", field="status")
            qs = qs.filter(status=status)
        else:
            qs = qs.exclude(status=Status.ARCHIVED)
        if cursor is not None:
            if not isinstance(cursor[0], int):
                raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
            qs = qs.filter(id__gt=cursor[0])
        rows, next_cursor = paging.page(list(qs[: limit + 1]), limit, lambda s: (s.pk,))
        return Response({"segments": [segment_object(s) for s in rows], "next": next_cursor})


class SegmentDetailView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="segment_read",
        summary="One segment with its condition tree",
        parameters=[SEGMENT_ID],
        responses=schema.reads(SegmentSerializer),
        tags=["segments"],
    )
    def get(self, request, id):
        segment = Segment.objects.filter(pk=_int_ref(id, "id", "Segment")).first()
        if segment is None:
            raise NotFound(f"Segment {id[:50]!r} does not exist.", field="id")
        return Response(segment_object(segment, full=True))


class SegmentMembersView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="segment_members",
        summary="The segment's current members in this key's environment, keyset-paged",
        parameters=[SEGMENT_ID, *schema.PAGE_PARAMETERS],
        responses=schema.reads(
            inline_serializer(
                "SegmentMembers",
                {
                    "members": inline_serializer(
                        "SegmentMember",
                        {"customer": serializers.CharField(), "entered_at": serializers.IntegerField()},
                        many=True,
                    ),
                    "next": serializers.CharField(allow_null=True),
                },
            )
        ),
        tags=["segments"],
    )
    def get(self, request, id):
        segment = Segment.objects.filter(pk=_int_ref(id, "id", "Segment")).first()
        if segment is None:
            raise NotFound(f"Segment {id[:50]!r} does not exist.", field="id")
        limit = paging.page_limit(request.query_params)
        cursor = paging.decode_cursor(request.query_params, 1)
        qs = SegmentMember.objects.filter(
            segment=segment,
            left_at__isnull=True,
            customer__environment=request.auth.environment,
            customer__anonymized_at__isnull=True,
        ).order_by("id")
        if cursor is not None:
            if not isinstance(cursor[0], int):
                raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
            qs = qs.filter(id__gt=cursor[0])
        rows = list(qs.values_list("id", "customer__customer_id", "entered_at")[: limit + 1])
        rows, next_cursor = paging.page(rows, limit, lambda row: (row[0],))
        members = [{"customer": cid, "entered_at": unix(entered)} for _, cid, entered in rows]
        return Response({"members": members, "next": next_cursor})


# --- customer lists as entities -----------------------------------------------------------------


class ListRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[Status.ACTIVE, Status.INACTIVE], required=False)


def _clean_list_body(request, *, creating: bool) -> dict:
    body = ListRequestSerializer(data=request.data)
    if not body.is_valid():
        field, problems = next(iter(body.errors.items()))
        raise ValidationError(f"{field}: {problems[0]}", field=field)
    data = dict(body.validated_data)
    for key in ("name", "description"):
        if "\x00" in data.get(key, ""):
            raise ValidationError(f"'{key}' contains a NUL character.", field=key)
    if creating and not (data.get("name") or "").strip():
        raise ValidationError("Missing required parameter 'name'.", field="name")
    return data


class CustomerListsView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="customer_list_entities",
        summary="Customer lists (entities)",
        parameters=[OpenApiParameter("status", str, enum=Status.values)],
        responses=schema.reads(
            inline_serializer("CustomerListEntities", {"data": CustomerListEntitySerializer(many=True)})
        ),
        tags=["customer lists"],
    )
    def get(self, request):
        qs = CustomerList.objects.order_by("id")
        status = request.query_params.get("status")
        if status:
            if status not in Status.values:
                raise ValidationError(f"'status' must be one of {', '.join(Status.values)}.", field="status")
            qs = qs.filter(status=status)
        return Response({"data": [list_object(item) for item in qs[:1000]]})

    @extend_schema(
        operation_id="customer_list_create",
        summary="Create a customer list",
        request=ListRequestSerializer,
        responses=schema.writes(CustomerListEntitySerializer),
        tags=["customer lists"],
    )
    def put(self, request):
        data = _clean_list_body(request, creating=True)
        created = CustomerList.objects.create(
            name=data["name"].strip(),
            description=data.get("description", ""),
            status=data.get("status", "active"),
        )
        return Response(list_object(created))


class CustomerListEntityView(ApiView):
    required_scope = Scope.ENTITIES

    def _get(self, entity_id) -> CustomerList:
        found = CustomerList.objects.filter(pk=_int_ref(entity_id, "entity_id", "Customer list")).first()
        if found is None:
            raise NotFound(f"Customer list {entity_id[:50]!r} does not exist.", field="entity_id")
        return found

    @extend_schema(
        operation_id="customer_list_read",
        summary="Read a customer list",
        parameters=[ENTITY_ID],
        responses=schema.reads(CustomerListEntitySerializer),
        tags=["customer lists"],
    )
    def get(self, request, entity_id):
        return Response(list_object(self._get(entity_id)))

    @extend_schema(
        operation_id="customer_list_update",
        summary="Update a customer list's name, description or status (active / inactive)",
        parameters=[ENTITY_ID],
        request=ListRequestSerializer,
        responses=schema.writes(CustomerListEntitySerializer),
        tags=["customer lists"],
    )
    def post(self, request, entity_id):
        customer_list = self._get(entity_id)
        data = _clean_list_body(request, creating=False)
        if customer_list.status == Status.ARCHIVED:
            raise NotFound("An archived customer list cannot be changed.", field="entity_id")
        if "status" in data and data["status"] != customer_list.status:
            customer_list = set_status(customer_list, data["status"])
        changed = []
        if (data.get("name") or "").strip():
            customer_list.name, changed = data["name"].strip(), [*changed, "name"]
        if "description" in data:
            customer_list.description, changed = data["description"], [*changed, "description"]
        if changed:
            customer_list.save(update_fields=[*changed, "updated_at"])
        return Response(list_object(customer_list))

    @extend_schema(
        operation_id="customer_list_archive",
        summary="Archive an inactive customer list: removes its members, cannot be restored",
        parameters=[ENTITY_ID],
        responses=schema.writes(CustomerListEntitySerializer),
        tags=["customer lists"],
    )
    def delete(self, request, entity_id):
        return Response(list_object(set_status(self._get(entity_id), Status.ARCHIVED)))


# --- bulk operations ------------------------------------------------------------------------------


class ListBulkRequestSerializer(serializers.Serializer):
    customers = serializers.ListField(
        child=serializers.JSONField(), help_text="customer IDs (or field:value)"
    )


class BulkCreateView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_list_bulk",
        summary="Queue a bulk add or remove of list members (one customer_list_add/remove event each)",
        parameters=[
            OpenApiParameter("operation", str, OpenApiParameter.PATH, enum=["add", "remove"]),
            OpenApiParameter("customer_list_id", str, OpenApiParameter.PATH),
        ],
        request=ListBulkRequestSerializer,
        responses=schema.writes(
            inline_serializer(
                "BulkQueued",
                {
                    "status": serializers.CharField(),
                    "metadata": serializers.DictField(),
                    "payload": inline_serializer("BulkBatch", {"batch_id": serializers.CharField()}),
                },
            )
        ),
        tags=["customer lists"],
    )
    def post(self, request, operation, customer_list_id):
        customer_list = CustomerList.objects.filter(
            pk=_int_ref(customer_list_id, "customer_list_id", "Customer list")
        ).first()
        if customer_list is None:
            raise NotFound(
                f"Customer list {customer_list_id[:50]!r} does not exist.", field="customer_list_id"
            )
        json_body(request, what="a JSON object with 'customers'")
        queued = queue_bulk(
            customer_list,
            "customer_add" if operation == "add" else "customer_remove",
            request.data.get("customers"),
            environment=request.auth.environment,
            source=EventSource.API,
        )
        return Response({"status": "success", "metadata": {}, "payload": {"batch_id": str(queued.batch_id)}})


def _operation(batch_id: str, environment: str) -> BulkOperation:
    """The key's environment's operation: another environment's batch (its customer references
    and errors) is a 404, as an unknown one."""
    try:
        key = uuid.UUID(batch_id)
    except ValueError:
        key = None
    found = BulkOperation.objects.filter(batch_id=key, environment=environment).first() if key else None
    if found is None:
        raise NotFound(f"Batch {batch_id[:50]!r} does not exist.", field="batch_id")
    return found


class BulkStatusView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_list_bulk_status",
        summary="Status of a bulk operation (queued, processing, done) with its error count",
        parameters=[BATCH_ID],
        responses=schema.reads(
            inline_serializer(
                "BulkStatus",
                {
                    "status": serializers.CharField(),
                    "metadata": serializers.DictField(),
                    "payload": serializers.DictField(),
                },
            )
        ),
        tags=["customer lists"],
    )
    def get(self, request, batch_id):
        operation = _operation(batch_id, request.auth.environment)
        errors_url = request.build_absolute_uri(
            f"/api/v1/bulk-operation/customer-list/{operation.batch_id}/status/errors"
        )
        return Response(
            {
                "status": "success",
                "metadata": {
                    "bulk_operation_error": {
                        "number_of_errors": operation.number_of_errors,
                        "url": errors_url,
                    }
                },
                "payload": {
                    "batch_id": str(operation.batch_id),
                    "batch_status": operation.status,
                    "type": operation.type,
                    "customer_list": str(operation.customer_list_id),
                    "number_of_customers": operation.number_of_customers,
                    "processed": operation.processed,
                },
            }
        )


class BulkErrorsView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_list_bulk_errors",
        summary="Per-customer errors of a bulk operation (offset / limit)",
        parameters=[BATCH_ID, OpenApiParameter("offset", int), OpenApiParameter("limit", int)],
        responses=schema.reads(
            inline_serializer(
                "BulkErrors",
                {
                    "status": serializers.CharField(),
                    "metadata": serializers.DictField(),
                    "payload": serializers.ListField(),
                },
            )
        ),
        tags=["customer lists"],
    )
    def get(self, request, batch_id):
        operation = _operation(batch_id, request.auth.environment)
        params = request.query_params
        offset = params.get("offset", "0")
        if not is_digits(offset, 10) or int(offset) > 10**9:
            raise ValidationError("'offset' must be a whole number.", field="offset")
        offset = int(offset)
        limit = paging.page_limit(params) if params.get("limit") else 100
        total = operation.number_of_errors
        rows = list(operation.errors.order_by("position")[offset : offset + limit])
        base = f"/api/v1/bulk-operation/customer-list/{operation.batch_id}/status/errors"
        return Response(
            {
                "status": "success",
                "metadata": {
                    "pagination": {
                        "total": total,
                        "next": f"{base}?offset={offset + limit}&limit={limit}"
                        if offset + limit < total
                        else None,
                        "previous": f"{base}?offset={max(offset - limit, 0)}&limit={limit}"
                        if offset
                        else None,
                    }
                },
                "payload": [
                    {
                        "customer": row.customer,
                        "customer_list": str(operation.customer_list_id),
                        "error_message": row.message,
                        "error_code": row.code,
                    }
                    for row in rows
                ],
            }
        )
