"""Referrals API (reference §7.3, Talon.One names).

POST /api/referrals                          {advocateProfileIntegrationId, code?, startDate?, expiryDate?, usageLimit?}
GET  /api/customers/{id}/referrals           the advocate's codes with their redemptions
GET  /api/customers/{id}/friends             the customers the advocate referred (ApplicationReferee)
POST /api/referrals/import                   text/csv body (referrals.imports) -> {"imported": n}
A friend redeems through the Events API: `referral_redeem`, or `referral_code` on opt_in / checkout.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.choices import EventSource
from events.engine import register_event
from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.parsers import CsvParser, csv_text
from loyalty.api.requests import find_or_404, json_body
from loyalty.api.views import ApiView
from loyalty.errors import EngineError, MissingParameter, ValidationError
from loyalty.models import Program

from ..imports import import_codes
from ..models import Referral, ReferralCode

FIELDS = {"code": "code", "startDate": "start_date", "expiryDate": "expiry_date", "usageLimit": "usage_limit"}


CODE_FIELDS = {
    "id": serializers.IntegerField(),
    "code": serializers.CharField(),
    "advocateProfileIntegrationId": serializers.CharField(),
    "startDate": serializers.CharField(allow_null=True),
    "expiryDate": serializers.CharField(allow_null=True),
    "usageLimit": serializers.IntegerField(),
    "usageCounter": serializers.IntegerField(),
    "created": serializers.CharField(),
}
REFEREE = inline_serializer(
    "Referee",
    {
        "sessionId": serializers.CharField(allow_null=True),
        "advocateIntegrationId": serializers.CharField(),
        "friendIntegrationId": serializers.CharField(allow_null=True),
        "code": serializers.CharField(),
        "created": serializers.CharField(),
    },
    many=True,
)
CODE = inline_serializer("ReferralCode", CODE_FIELDS)
CREATE = inline_serializer(
    "ReferralCodeCreate",
    {
        "advocateProfileIntegrationId": serializers.CharField(),
        "code": serializers.CharField(required=False),
        "startDate": serializers.DateTimeField(required=False),
        "expiryDate": serializers.DateTimeField(required=False),
        "usageLimit": serializers.IntegerField(required=False, min_value=0),
    },
)
CUSTOMER_CODES = inline_serializer(
    "CustomerReferralCodes",
    {
        "referrals": inline_serializer(
            "ReferralCodeWithReferees", {**CODE_FIELDS, "referredCustomers": REFEREE}, many=True
        )
    },
)
FRIENDS = inline_serializer("Friends", {"friends": REFEREE, "next": serializers.CharField(allow_null=True)})


def _module():
    if not Program.current().referrals:
        raise ValidationError("The referrals module is off.", field="code")


def code_object(row: ReferralCode) -> dict:
    return {
        "id": row.pk,
        "code": row.code,
        "advocateProfileIntegrationId": row.advocate.customer_id,
        "startDate": row.start_at.isoformat() if row.start_at else None,
        "expiryDate": row.expires_at.isoformat() if row.expires_at else None,
        "usageLimit": row.usage_limit,
        "usageCounter": row.usage_counter,
        "created": row.created_at.isoformat(),
    }


def referee_object(r: Referral) -> dict:
    return {
        "sessionId": r.transaction_id or None,
        "advocateIntegrationId": r.advocate.customer_id,
        "friendIntegrationId": r.friend.customer_id if r.friend.anonymized_at is None else None,
        "code": r.code.code,
        "created": r.created_at.isoformat(),
    }


class ReferralCreateView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="referral_create",
        request=CREATE,
        responses=schema.creates(CODE),
        summary="Create a referral code for an advocate",
        tags=["referrals"],
    )
    def post(self, request):
        _module()
        body = json_body(request)
        advocate = body.get("advocateProfileIntegrationId")
        if not isinstance(advocate, str) or not advocate:
            raise MissingParameter(
                "Missing required parameter 'advocateProfileIntegrationId'.",
                field="advocateProfileIntegrationId",
            )
        data = {name: body[key] for key, name in FIELDS.items() if body.get(key) not in (None, "")}
        try:
            result = register_event(
                environment=request.auth.environment,
                customer=advocate,
                action="referral_code_create",
                data=data,
                source=EventSource.API,
                ip_address=request.META.get("REMOTE_ADDR") or None,
            )
        except EngineError as error:
            reverse = {name: key for key, name in FIELDS.items()}
            if error.field and error.field.startswith("data."):
                error.field = reverse.get(error.field[5:], error.field)
            elif error.field == "customer":
                error.field = "advocateProfileIntegrationId"
            raise
        row = ReferralCode.objects.select_related("advocate").get(
            environment=request.auth.environment, code=result.extra["referral_code"]
        )
        return Response(code_object(row), status=201)


class CustomerReferralsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_referrals",
        responses=schema.reads(CUSTOMER_CODES),
        summary="The advocate's referral codes and redemptions",
        parameters=[schema.CUSTOMER_REF],
        tags=["referrals"],
    )
    def get(self, request, id):
        _module()
        customer = find_or_404(request, id)
        codes = list(
            ReferralCode.objects.filter(advocate=customer).select_related("advocate").order_by("-id")[:1000]
        )
        redemptions: dict[int, list] = {}
        for r in Referral.objects.filter(code__in=codes).select_related("friend", "advocate", "code"):
            redemptions.setdefault(r.code_id, []).append(referee_object(r))
        return Response(
            {"referrals": [{**code_object(c), "referredCustomers": redemptions.get(c.pk, [])} for c in codes]}
        )


class CustomerFriendsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_friends",
        responses=schema.reads(FRIENDS),
        summary="Customers the advocate referred",
        parameters=[schema.CUSTOMER_REF, *schema.PAGE_PARAMETERS],
        tags=["referrals"],
    )
    def get(self, request, id):
        _module()
        customer = find_or_404(request, id)
        params = request.query_params
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 1)
        queryset = (
            Referral.objects.filter(advocate=customer)
            .select_related("friend", "advocate", "code")
            .order_by("-id")
        )
        if cursor is not None:
            if not isinstance(cursor[0], int) or isinstance(cursor[0], bool):
                raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
            queryset = queryset.filter(id__lt=cursor[0])
        rows, next_cursor = paging.page(list(queryset[: limit + 1]), limit, lambda r: (r.pk,))
        return Response({"friends": [referee_object(r) for r in rows], "next": next_cursor})


class ReferralImportView(ApiView):
    """POST a CSV (Content-Type text/csv, UTF-8, at most 5 MB): every code or none."""

    required_scope = Scope.EVENTS_WRITE
    parser_classes = [CsvParser]

    @extend_schema(
        operation_id="referral_import",
        request={"text/csv": str},
        responses=schema.creates(
            inline_serializer("ReferralImport", {"imported": serializers.IntegerField()})
        ),
        summary="Import referral codes from CSV (code, advocateprofileintegrationid, startdate, expirydate, limitval)",
        tags=["referrals"],
    )
    def post(self, request):
        _module()
        count = import_codes(request.auth.environment, csv_text(request), source=EventSource.API)
        return Response({"imported": count}, status=201)
