"""Loyalty cards API (reference §7.2, Talon.One's shapes and names). Card codes in paths are
URL-encoded (`%` is a valid code character). Customer changes go through register_event.

POST /api/cards                          {cardIdentifier?, status?, customerProfileIds?[]} create one
POST /api/cards/batch                    {numberOfCards, status?} -> {batchId, cards}
GET  /api/cards                          list: identifier, profileId, batchId, pageSize (≤ 1000), skip
GET  /api/cards/export                   CSV: batchId, createdAfter, createdBefore, dateFormat
POST /api/cards/import                   text/csv body: identifier[, status]; all rows or none
GET  /api/cards/{code}                   the card with its profiles
PUT  /api/cards/{code}                   {status, blockReason?}  (card_status_change when registered)
POST /api/cards/{code}/link_profile      {integrationId}  (card_register)
POST /api/cards/{code}/unlink_profile    {integrationId}  (card_unregister)
PUT  /api/cards/{code}/transfer      {newCardIdentifier, blockReason}  (card_transfer)
GET  /api/customers/{id}/cards           the customer's cards
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.choices import EventSource
from events.engine import register_event
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.parsers import CsvParser, csv_text
from loyalty.api.requests import find_or_404, json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import BusinessRuleError, EngineError, MissingParameter, NotFound, ValidationError
from loyalty.ledger.log import DATE_FORMATS

from .. import cards, exports
from ..models import CardRegistration, CardSettings, LoyaltyCard

CARD_FIELDS = dict(
    {
        "identifier": serializers.CharField(),
        "status": serializers.CharField(),
        "blockReason": serializers.CharField(allow_null=True),
        "batchId": serializers.CharField(allow_null=True),
        "created": serializers.CharField(),
        "usersPerCardLimit": serializers.IntegerField(),
        "profiles": inline_serializer(
            "LoyaltyCardProfile",
            {"integrationId": serializers.CharField(), "timestamp": serializers.CharField()},
            many=True,
        ),
        "newCardIdentifier": serializers.CharField(allow_null=True),
    },
)
CARD = inline_serializer("LoyaltyCard", CARD_FIELDS)
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="the card code (URL-encoded)")
CREATE = inline_serializer(
    "LoyaltyCardCreate",
    {
        "cardIdentifier": serializers.CharField(required=False, help_text="empty: generated"),
        "status": serializers.CharField(required=False, help_text="active (default) or inactive"),
        "customerProfileIds": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
BATCH = inline_serializer(
    "LoyaltyCardBatch",
    {
        "numberOfCards": serializers.IntegerField(min_value=1, max_value=20000),
        "status": serializers.CharField(required=False, help_text="active (default) or inactive"),
    },
)
BATCH_RESULT = inline_serializer(
    "LoyaltyCardBatchResult",
    {
        "batchId": serializers.CharField(),
        "numberOfCards": serializers.IntegerField(),
        "cards": serializers.ListField(child=serializers.CharField()),
    },
)
PROFILE = inline_serializer("LoyaltyCardLink", {"integrationId": serializers.CharField()})
TRANSFER = inline_serializer(
    "LoyaltyCardTransfer",
    {"newCardIdentifier": serializers.CharField(), "blockReason": serializers.CharField(required=False)},
)
CUSTOMER_CARDS = inline_serializer(
    "CustomerCards",
    {
        "cards": inline_serializer(
            "CustomerCard",
            {
                "identifier": serializers.CharField(),
                "status": serializers.CharField(),
                "registered": serializers.CharField(),
            },
            many=True,
        )
    },
)


def card_object(card: LoyaltyCard) -> dict:
    return card_objects([card])[0]


def _card(request, code) -> LoyaltyCard:
    cards.check_module("card")
    card = LoyaltyCard.objects.filter(environment=request.auth.environment, code=code).first()
    if card is None:
        raise NotFound(f"No loyalty card {code[:120]!r}.", field="card")
    return card


def _register(request, customer, action, data):
    return register_event(
        environment=request.auth.environment,
        customer=customer,
        action=action,
        data=data,
        source=EventSource.API,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _integration_id(body) -> str:
    value = body.get("integrationId")
    if not isinstance(value, str) or not value.strip():
        raise MissingParameter("Missing required parameter 'integrationId'.", field="integrationId")
    return value


STATUS = inline_serializer(
    "LoyaltyCardUpdate",
    {
        "status": serializers.CharField(help_text="active, inactive or blocked (permanent)"),
        "blockReason": serializers.CharField(required=False),
    },
)
CARD_LIST = inline_serializer(
    "LoyaltyCards",
    {
        "data": inline_serializer("LoyaltyCardInList", CARD_FIELDS, many=True),
        "hasMore": serializers.BooleanField(),
    },
)
MAX_PAGE = 1000


def _when(params, name):
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValidationError(f"{name!r} must be an ISO 8601 date or date-time.", field=name) from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _whole(params, name, default, low, high) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not is_digits(raw) or not low <= int(raw) <= high:
        raise ValidationError(f"{name!r} is a whole number from {low} to {high}.", field=name)
    return int(raw)


def card_objects(rows: list[LoyaltyCard]) -> list[dict]:
    """card_object for many cards with one query for their profiles."""
    profiles: dict[int, list] = {}
    for r in (
        CardRegistration.objects.filter(card__in=rows)
        .select_related("customer")
        .order_by("registered_at", "id")
    ):
        profiles.setdefault(r.card_id, []).append(
            {"integrationId": r.customer.customer_id, "timestamp": r.registered_at.isoformat()}
        )
    limit = CardSettings.current().users_per_card_limit
    return [
        {
            "identifier": card.code,
            "status": card.status,
            "blockReason": card.block_reason or None,
            "batchId": card.batch_id or None,
            "created": card.created_at.isoformat(),
            "usersPerCardLimit": limit,
            "profiles": profiles.get(card.pk, []),
            "newCardIdentifier": card.transferred_to.code if card.transferred_to_id else None,
        }
        for card in rows
    ]


class CardCreateView(ApiView):
    @property
    def required_scope(self):  # reads need customers:read, writes events:write
        return Scope.CUSTOMERS_READ if self.request.method == "GET" else Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="card_list",
        summary="List loyalty cards (newest first)",
        parameters=[
            OpenApiParameter("identifier", str, description="exact card code"),
            OpenApiParameter("profileId", str, description="cards registered to this customer ID"),
            OpenApiParameter("batchId", str),
            OpenApiParameter("pageSize", int, description="1-1000, default 1000"),
            OpenApiParameter("skip", int),
        ],
        responses=schema.reads(CARD_LIST),
        tags=["cards"],
    )
    def get(self, request):
        cards.check_module("card")
        params = request.query_params
        size = _whole(params, "pageSize", MAX_PAGE, 1, MAX_PAGE)
        skip = _whole(params, "skip", 0, 0, 1_000_000)
        rows = LoyaltyCard.objects.filter(environment=request.auth.environment).select_related(
            "transferred_to"
        )
        if params.get("identifier"):
            rows = rows.filter(code=params["identifier"])
        if params.get("batchId"):
            rows = rows.filter(batch_id=params["batchId"])
        if params.get("profileId"):
            rows = rows.filter(registrations__customer__customer_id=params["profileId"])
        page = list(rows.order_by("-id")[skip : skip + size + 1])
        return Response({"data": card_objects(page[:size]), "hasMore": len(page) > size})

    @extend_schema(
        operation_id="card_create",
        summary="Create one loyalty card",
        request=CREATE,
        responses=schema.creates(CARD),
        tags=["cards"],
    )
    def post(self, request):
        body = json_body(request)
        profiles = body.get("customerProfileIds") or []
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            raise ValidationError(
                "'customerProfileIds' is a list of customer IDs.", field="customerProfileIds"
            )
        if len(profiles) > CardSettings.current().users_per_card_limit:
            raise BusinessRuleError(
                "More profiles than the users-per-card limit.", field="customerProfileIds"
            )
        code = body.get("cardIdentifier")
        status = body.get("status") or "active"
        with transaction.atomic():  # the card and every registration, or nothing
            if code in (None, ""):
                card = LoyaltyCard.objects.get(
                    environment=request.auth.environment,
                    code=cards.generate_batch(request.auth.environment, 1, status=status)[1][0],
                )
            else:
                card = cards.create_card(
                    request.auth.environment, cards.check_code(code, "cardIdentifier"), status=status
                )
            for profile in profiles:
                _register(request, profile, "card_register", {"card": card.code})
        return Response(card_object(card), status=201)


class CardBatchView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="card_batch",
        summary="Generate up to 20,000 loyalty cards",
        request=BATCH,
        responses=schema.creates(BATCH_RESULT),
        tags=["cards"],
    )
    def post(self, request):
        body = json_body(request)
        batch_id, codes = cards.generate_batch(
            request.auth.environment, body.get("numberOfCards"), status=body.get("status") or "active"
        )
        return Response({"batchId": batch_id, "numberOfCards": len(codes), "cards": codes}, status=201)


class CardExportView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="card_export",
        summary="Export loyalty cards as CSV (timestamps in UTC)",
        parameters=[
            OpenApiParameter("batchId", str),
            OpenApiParameter("createdAfter", str),
            OpenApiParameter("createdBefore", str),
            OpenApiParameter("dateFormat", str, enum=list(DATE_FORMATS)),
        ],
        responses=schema.csv_read(),
        tags=["cards"],
    )
    def get(self, request):
        cards.check_module("card")
        params = request.query_params
        date_format = params.get("dateFormat") or "iso8601"
        if date_format not in DATE_FORMATS:
            raise ValidationError(f"'dateFormat' is one of {', '.join(DATE_FORMATS)}.", field="dateFormat")
        lines = exports.export_csv(
            request.auth.environment,
            date_format=date_format,
            batch_id=str(params.get("batchId") or ""),
            created_after=_when(params, "createdAfter"),
            created_before=_when(params, "createdBefore"),
        )
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="loyalty-cards.csv"'
        return response


class CardImportView(ApiView):
    """POST a CSV (Content-Type text/csv, UTF-8, at most 20 MB; reference §7.2 import_cards)."""

    required_scope = Scope.EVENTS_WRITE
    parser_classes = [CsvParser]

    @extend_schema(
        operation_id="card_import",
        request={"text/csv": str},
        responses=schema.creates(
            inline_serializer("LoyaltyCardImport", {"imported": serializers.IntegerField()})
        ),
        summary="Import loyalty cards from CSV (identifier, status); every card or none",
        tags=["cards"],
    )
    def post(self, request):
        count = cards.import_cards(request.auth.environment, csv_text(request, 20 * 1024 * 1024))
        return Response({"imported": count}, status=201)


class CardDetailView(ApiView):
    @property
    def required_scope(self):  # reads need customers:read, writes events:write
        return Scope.CUSTOMERS_READ if self.request.method == "GET" else Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="card_read",
        summary="A loyalty card with its profiles",
        parameters=[CODE],
        responses=schema.reads(CARD),
        tags=["cards"],
    )
    def get(self, request, code):
        return Response(card_object(_card(request, code)))

    @extend_schema(
        operation_id="card_update",
        summary="Change the card's status (blocked is permanent; blockReason kept)",
        parameters=[CODE],
        request=STATUS,
        responses=schema.writes(CARD),
        tags=["cards"],
    )
    def put(self, request, code):
        card = _card(request, code)
        body = json_body(request)
        if body.get("status") in (None, ""):
            raise MissingParameter("Missing required parameter 'status'.", field="status")
        reason = body.get("blockReason") or ""
        if not isinstance(reason, str):
            raise ValidationError("'blockReason' is text.", field="blockReason")
        holder = CardRegistration.objects.filter(card=card).select_related("customer").order_by("id").first()
        if holder is None:
            card = cards.set_unregistered_status(request.auth.environment, card.code, body["status"], reason)
            return Response(card_object(card))
        try:
            register_event(
                environment=request.auth.environment,
                customer=holder.customer,
                action="card_status_change",
                data={"card": card.code, "status": body["status"]},
                source=EventSource.API,
                reason=reason,
                ip_address=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except EngineError as error:
            if error.field == "data.status":
                error.field = "status"
            raise
        card.refresh_from_db()
        return Response(card_object(card))


class CardLinkView(ApiView):
    required_scope = Scope.EVENTS_WRITE
    action = "card_register"

    @extend_schema(
        operation_id="card_link_profile",
        parameters=[CODE],
        request=PROFILE,
        responses=schema.writes(CARD),
        summary="Register a customer to the card",
        tags=["cards"],
    )
    def post(self, request, code):
        card = _card(request, code)
        _register(request, _integration_id(json_body(request)), self.action, {"card": card.code})
        return Response(card_object(card))


class CardUnlinkView(CardLinkView):
    action = "card_unregister"

    @extend_schema(
        operation_id="card_unlink_profile",
        parameters=[CODE],
        request=PROFILE,
        responses=schema.writes(CARD),
        summary="Unregister a customer from the card",
        tags=["cards"],
    )
    def post(self, request, code):
        return super().post(request, code)


class CardTransferView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="card_transfer",
        summary="Move the card's profiles to a new card; the old card is blocked permanently",
        parameters=[CODE],
        request=TRANSFER,
        responses=schema.writes(CARD),
        tags=["cards"],
    )
    def put(self, request, code):
        card = _card(request, code)
        body = json_body(request)
        new_code = body.get("newCardIdentifier")
        if new_code in (None, ""):
            raise MissingParameter(
                "Missing required parameter 'newCardIdentifier'.", field="newCardIdentifier"
            )
        reason = body.get("blockReason") or ""
        if not isinstance(reason, str):
            raise ValidationError("'blockReason' is text.", field="blockReason")
        holder = CardRegistration.objects.filter(card=card).select_related("customer").order_by("id").first()
        if holder is None:
            raise BusinessRuleError("The card has no customers to transfer.", field="card")
        try:
            _register(
                request,
                holder.customer,
                "card_transfer",
                {"card": card.code, "new_card": new_code, "reason": reason},
            )
        except EngineError as error:
            if error.field == "data.new_card":
                error.field = "newCardIdentifier"
            raise
        card.refresh_from_db()
        return Response(card_object(card.transferred_to))


class CustomerCardsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_cards",
        responses=schema.reads(CUSTOMER_CARDS),
        summary="The customer's loyalty cards",
        parameters=[schema.CUSTOMER_REF],
        tags=["cards"],
    )
    def get(self, request, id):
        cards.check_module("card")
        customer = find_or_404(request, id)
        rows = CardRegistration.objects.filter(customer=customer).select_related("card")[:1000]
        return Response(
            {
                "cards": [
                    {
                        "identifier": r.card.code,
                        "status": r.card.status,
                        "registered": r.registered_at.isoformat(),
                    }
                    for r in rows
                ]
            }
        )
