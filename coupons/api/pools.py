"""Coupon Pools API: the reference's `POST /v1/coupon-pools` and `POST /v1/coupon-pools/{id}/update`,
plus `GET /v1/coupon-pools/{id}` (ours, to read one back).

Scope `entities`. Answers the reference's `{"status": "success", "metadata": ..., "payload": pool}`;
errors are the usual envelope with the reference's codes 202001–202041 (and our 202042–202044).
The rules are coupons.pool_config's; every change is recorded in the change log.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from coupons.api.serializers import pool_object
from coupons.pool_config import create_pool, find_pool, update_pool
from events.validation import check_storable
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.audit import log

POOL_ID = OpenApiParameter(
    "coupon_pool_id", str, OpenApiParameter.PATH, description="the pool's ID or its external_id"
)
POOL = inline_serializer(
    "CouponPool",
    {
        "id": serializers.CharField(),
        "external_id": serializers.CharField(allow_null=True),
        "name": serializers.CharField(),
        "source": serializers.ChoiceField(["uploaded", "generated"]),
        "type": serializers.ChoiceField(["amount", "percentage", "free_shipping", "gift_card"]),
        "value": serializers.FloatField(),
        "purchase_minimum": serializers.FloatField(allow_null=True),
        "minimum_value": serializers.FloatField(allow_null=True),
        "minimum_redemption_value": serializers.FloatField(allow_null=True),
        "currency": serializers.CharField(allow_null=True),
        "expiration_time": serializers.CharField(allow_null=True),
        "aggregated": serializers.BooleanField(),
        "products": serializers.ListField(child=serializers.CharField()),
        "stores": serializers.ListField(child=serializers.CharField()),
    },
)


def _envelope(name: str, metadata) -> object:
    return inline_serializer(
        name,
        {
            "status": serializers.CharField(),
            "metadata": metadata,
            "payload": POOL,
        },
    )


def _body(request) -> dict:
    body = json_body(request, what="a JSON object of pool attributes")
    check_storable(body, "body")  # the body is kept in the change log as it came
    return dict(body)


def _record(request, action: str, pool, body: dict) -> None:
    log.record(
        user=None,
        action=action,
        environment=request.auth.environment,
        object_repr=f"Coupon pool {pool.pk} {pool.name} (API key {request.auth.name})"[:200],
        after=body,
    )


class CouponPoolCreateView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="coupon_pool_create",
        summary="Create a coupon pool (name, source and type required)",
        request=OpenApiTypes.OBJECT,
        responses=schema.writes(_envelope("CouponPoolCreated", serializers.ListField())),
        tags=["coupon pools"],
    )
    def post(self, request):
        body = _body(request)
        pool = create_pool(body)
        _record(request, "coupon_pool_create", pool, body)
        return Response({"status": "success", "metadata": [], "payload": pool_object(pool)})


class CouponPoolView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="coupon_pool",
        summary="A coupon pool by ID or external_id (ours; the reference has no read endpoint)",
        parameters=[POOL_ID],
        responses=schema.reads(_envelope("CouponPoolRead", serializers.ListField())),
        tags=["coupon pools"],
    )
    def get(self, request, coupon_pool_id):
        pool = find_pool(coupon_pool_id)
        return Response({"status": "success", "metadata": [], "payload": pool_object(pool)})


class CouponPoolUpdateView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="coupon_pool_update",
        summary="Update a coupon pool; update_method decides which existing coupons take a new value",
        parameters=[POOL_ID],
        request=OpenApiTypes.OBJECT,
        responses=schema.writes(
            _envelope(
                "CouponPoolUpdated",
                inline_serializer(
                    "CouponPoolUpdateMetadata",
                    {"update_method": serializers.CharField(), "update_matching": serializers.BooleanField()},
                ),
            )
        ),
        tags=["coupon pools"],
    )
    def post(self, request, coupon_pool_id):
        body = _body(request)
        pool, metadata = update_pool(find_pool(coupon_pool_id, lock=True), body)
        _record(request, "coupon_pool_update", pool, body)
        return Response({"status": "success", "metadata": metadata, "payload": pool_object(pool)})
