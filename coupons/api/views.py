"""Rewards and coupons API: claimable rewards, claiming, a customer's coupons, redemption by code.

Same plumbing as the rest of /api/ (Escher auth, scopes, error envelope, Idempotency-Key on POST);
writes go through register_event only (the `reward` and `coupon_redeem` events).
"""

from __future__ import annotations

from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from coupons.filtersets import CustomerCouponFilterSet, ProgramCouponFilterSet
from coupons.models import Coupon
from events.api.views import event_response, find_or_404, register_from_request
from loyalty.api import paging, schema
from loyalty.api.filtering import filtered
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import NotFound, ValidationError

from .serializers import (
    CouponSerializer,
    RedeemRequestSerializer,
    coupon_object,
)

REWARD_REF = OpenApiParameter("reward", int, OpenApiParameter.PATH, description="reward ID")
CODE_REF = OpenApiParameter("code", str, OpenApiParameter.PATH, description="coupon code")


class CustomerRewardClaimView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_reward_claim",
        summary="Claim a reward: spends its points and hands out its coupon (registers a reward event)",
        parameters=[schema.CUSTOMER_REF, REWARD_REF, schema.IDEMPOTENCY_KEY],
        request=None,
        responses=schema.writes(
            inline_serializer(
                "RewardClaimResponse",
                {
                    "coupon": CouponSerializer(allow_null=True),
                    "events": serializers.ListField(),
                },
            )
        ),
        tags=["rewards"],
    )
    def post(self, request, id, reward):
        result = register_from_request(request, {"data": {"reward": reward}}, action="reward", customer=id)
        body = event_response(result)
        coupon = result.extra.get("coupon")
        body["coupon"] = coupon_object(coupon) if coupon is not None else None
        return Response(body)


class CustomerCouponsView(ApiView):
    """Filters: `coupons.filtersets.CustomerCouponFilterSet` (code, name, status, type, value)."""

    required_scope = Scope.CUSTOMERS_READ
    queryset = Coupon.objects.all()  # names the model for the schema's filter parameters
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerCouponFilterSet

    @extend_schema(
        operation_id="customer_coupons",
        summary="The customer's coupons, newest first",
        parameters=[schema.CUSTOMER_REF, *schema.PAGE_PARAMETERS],
        filters=True,
        responses=schema.reads(
            inline_serializer(
                "CouponPage",
                {
                    "data": CouponSerializer(many=True),
                    "next": serializers.CharField(allow_null=True),
                },
            )
        ),
        tags=["coupons"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        params = request.query_params
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 1)
        queryset = filtered(
            CustomerCouponFilterSet, params, Coupon.objects.filter(customer=customer).select_related("pool")
        )
        if cursor is not None:
            queryset = queryset.filter(id__lt=paging.cursor_id(cursor[0]))
        rows, next_cursor = paging.page(list(queryset.order_by("-id")[: limit + 1]), limit, lambda c: (c.pk,))
        return Response({"data": [coupon_object(c) for c in rows], "next": next_cursor})


class CouponRedeemView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="coupon_redeem",
        summary="Redeem a coupon by its code (registers coupon_redeem on the holder)",
        parameters=[CODE_REF, schema.IDEMPOTENCY_KEY],
        request=RedeemRequestSerializer,
        responses=schema.writes(
            inline_serializer(
                "CouponRedeemResponse",
                {
                    "coupon": CouponSerializer(),
                    "events": serializers.ListField(),
                },
            )
        ),
        tags=["coupons"],
    )
    def post(self, request, code):
        body = json_body(request, optional=True)
        coupon = Coupon.objects.with_code(code).select_related("customer").first()
        if coupon is None or (
            coupon.customer is not None and coupon.customer.environment != request.auth.environment
        ):
            raise NotFound(f"Coupon {code[:100]!r} does not exist.", field="code")
        holder = body.get("customer") or (coupon.customer.customer_id if coupon.customer else None)
        if not holder:
            raise ValidationError(
                "The coupon is unassigned: name the customer redeeming it.", field="customer"
            )
        data = {"code": code}
        for name in ("amount", "transaction_id"):
            if body.get(name) not in (None, ""):
                data[name] = body[name]
        result = register_from_request(request, {"data": data}, action="coupon_redeem", customer=holder)
        response = event_response(result)
        response["coupon"] = coupon_object(Coupon.objects.select_related("pool").get(pk=coupon.pk))
        return Response(response)


EMPTY_SEARCH = 160311  # the reference's "Empty search criteria"


class ProgramCouponsView(ApiView):
    """`GET /coupons` (the reference's Coupons API): coupons of the program, independent of
    customers — `code` (any letter case), `status` (as of now), `name`, `type`, `value`, `pool`,
    `customer`; at least one criterion (else 400, 160311 "Empty search criteria"). `limit`
    (default 100) and `page` (0-based), `{data, next}`; coupons held in the key's environment or
    held by nobody."""

    required_scope = Scope.CUSTOMERS_READ
    queryset = Coupon.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProgramCouponFilterSet

    @extend_schema(
        operation_id="coupons",
        summary="Query coupons independent of customers",
        parameters=[
            OpenApiParameter("limit", int, description="1-500 (default 100)"),
            OpenApiParameter("page", int, description="0-based page of `limit` coupons"),
        ],
        filters=True,
        responses=schema.reads(
            inline_serializer(
                "ProgramCouponPage",
                {"data": CouponSerializer(many=True), "next": serializers.CharField(allow_null=True)},
            )
        ),
        tags=["coupons"],
    )
    def get(self, request):
        params = request.query_params.copy()
        params.setdefault("limit", "100")
        limit = paging.page_limit(params)
        raw_page = params.pop("page", ["0"])[-1] or "0"
        if not is_digits(raw_page) or int(raw_page) * limit > paging.MAX_OFFSET:
            raise ValidationError("'page' must be a whole number from 0.", field="page")
        page = int(raw_page)
        criteria = [k for k in params if k not in ("limit", "api_key") and params.get(k) not in ("", None)]
        if not criteria:
            raise ValidationError("Empty search criteria", field=None, code=EMPTY_SEARCH)
        environment = request.auth.environment
        coupons = Coupon.objects.filter(Q(customer__isnull=True) | Q(customer__environment=environment))
        queryset = filtered(
            ProgramCouponFilterSet, params, coupons.select_related("pool", "customer"), strict_names=True
        )
        rows = list(queryset.order_by("id")[page * limit : (page + 1) * limit + 1])
        more = len(rows) > limit
        data = [program_coupon(c) for c in rows[:limit]]
        following = params.copy()
        following["page"] = str(page + 1)
        return Response({"data": data, "next": f"/api/coupons?{following.urlencode()}" if more else None})


def program_coupon(coupon) -> dict:
    body = coupon_object(coupon)
    body.update(
        {
            "name": coupon.pool.name,
            "value": body["amount"],
            "currency": coupon.pool.currency or None,
            "pool": str(coupon.pool_id),
            "customer": {"id": coupon.customer.customer_id} if coupon.customer_id else None,
            "created_at": coupon.created_at.isoformat() if coupon.created_at else None,
        }
    )
    return body
