"""Display API transactions (reference-behaviour.md §8.2): a customer's transactions with their
status, one transaction with its items, and the events of one transaction. Read-only."""

from __future__ import annotations

import uuid

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from customers.api.serializers import AccountRefSerializer
from events.api.serializers import EventSerializer, event_object
from events.api.views import register_from_request
from events.definitions import TRANSACTION_ID
from events.models import Event
from events.validation import check_bounds, check_storable, coerce
from loyalty.api import paging, schema
from loyalty.api.filtering import filtered
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404, json_body
from loyalty.api.views import ApiView
from loyalty.errors import MissingParameter, NotFound, ValidationError
from loyalty.jsonable import number
from loyalty.models import Program
from transactions.choices import TransactionStatus
from transactions.filtersets import ApiTransactionFilterSet
from transactions.models import Transaction
from workflows import preview

TRANSACTION_REF = OpenApiParameter(
    "transaction_id", str, OpenApiParameter.PATH, description="the shop's transaction ID"
)


def _iso(value):
    return value.isoformat() if value else None


def transaction_object(tx: Transaction, *, items: bool = False) -> dict:
    body = {
        "transaction_id": tx.transaction_id,
        "status": tx.status,
        "total": number(tx.total),
        "refunded": number(tx.refunded_value),
        "currency": tx.currency,
        "channel": tx.channel,
        "account": {"id": tx.account.code, "name": tx.account.name},
        "points_earned": tx.points_earned,
        "points_burned": tx.points_burned,
        "coupon_codes": list(tx.coupon_codes or []),
        "checkout_at": _iso(tx.checkout_at),
        "accepted_at": _iso(tx.accepted_at),
        "closed_at": _iso(tx.closed_at),
        "created_at": _iso(tx.created_at),
    }
    if items:
        body["items"] = [
            {
                "product_id": item.product_id,
                "product_name": item.product_name,
                "product_url": item.product_url,
                "product_category": item.product_category,
                "quantity": item.quantity,
                "price": number(item.price),
                "discount": number(item.discount),
                "subtotal": number(item.subtotal),
                "refunded_quantity": item.refunded_quantity,
                "points": item.points,
            }
            for item in tx.items.order_by("line", "id")
        ]
    return body


class TransactionSerializer(serializers.Serializer):
    transaction_id = serializers.CharField()
    status = serializers.CharField(help_text="draft, pending, accepted, rejected or refunded")
    total = serializers.FloatField()
    refunded = serializers.FloatField()
    currency = serializers.CharField()
    channel = serializers.CharField()
    account = AccountRefSerializer()
    points_earned = serializers.IntegerField()
    points_burned = serializers.IntegerField()
    coupon_codes = serializers.ListField(child=serializers.CharField())
    checkout_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    items = serializers.ListField(child=serializers.DictField(), required=False)


def transaction_or_404(customer, transaction_id: str) -> Transaction:
    tx = (
        Transaction.objects.select_related("account")
        .filter(customer=customer, transaction_id=transaction_id)
        .first()
    )
    if tx is None:
        raise NotFound(f"Transaction {transaction_id[:128]!r} not found.", field="transaction_id")
    return tx


class CustomerTransactionsView(ApiView):
    """Filters: `transactions.filtersets.ApiTransactionFilterSet` (transaction_id, status, account)."""

    required_scope = Scope.CUSTOMERS_READ
    queryset = Transaction.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiTransactionFilterSet

    @extend_schema(
        operation_id="customer_transactions",
        summary="A customer's transactions, newest first",
        parameters=[schema.CUSTOMER_REF, *schema.ENVELOPE_PARAMETERS],
        filters=True,
        responses=schema.reads(
            inline_serializer(
                "TransactionPage",
                {
                    "data": TransactionSerializer(many=True),
                    "prev": serializers.CharField(allow_null=True),
                    "next": serializers.CharField(allow_null=True),
                },
            )
        ),
        tags=["transactions"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        queryset = filtered(
            ApiTransactionFilterSet, request.query_params, Transaction.objects.filter(customer=customer)
        ).select_related("account")
        return Response(
            paging.keyset_envelope(
                request,
                queryset,
                keys=("id",),
                parse_cursor=lambda values: [paging.cursor_id(values[0])],
                cursor_of=lambda tx: (tx.pk,),
                render=transaction_object,
            )
        )


class CustomerTransactionView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_transaction",
        summary="One transaction with its items",
        parameters=[schema.CUSTOMER_REF, TRANSACTION_REF],
        responses=schema.reads(TransactionSerializer),
        tags=["transactions"],
    )
    def get(self, request, id, transaction_id):
        tx = transaction_or_404(find_or_404(request, id), transaction_id)
        return Response(transaction_object(tx, items=True))


class CustomerTransactionEventsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_transaction_events",
        summary="The events of one transaction (checkout, checkout_item, accept, refunds, points...), oldest first",
        parameters=[schema.CUSTOMER_REF, TRANSACTION_REF, *schema.ENVELOPE_PARAMETERS],
        responses=schema.reads(
            inline_serializer(
                "TransactionEventPage",
                {
                    "data": EventSerializer(many=True),
                    "prev": serializers.CharField(allow_null=True),
                    "next": serializers.CharField(allow_null=True),
                },
            )
        ),
        tags=["transactions"],
    )
    def get(self, request, id, transaction_id):
        customer = find_or_404(request, id)
        tx = transaction_or_404(customer, transaction_id)
        queryset = Event.objects.filter(customer=customer, transaction_id=tx.transaction_id)
        return Response(
            paging.keyset_envelope(
                request,
                queryset,
                keys=("id",),
                parse_cursor=lambda values: [paging.cursor_id(values[0])],
                cursor_of=lambda e: (e.pk,),
                render=lambda e: event_object(e, customer.customer_id),
                default_order="asc",
            )
        )


MAX_SEARCH_IDS = 5000


def _search_ids(raw) -> list[str] | None:
    """`id.in` as a JSON array or comma-separated text (or `id`, one ID); None when absent."""
    if raw is None or raw == "":
        return None
    values = raw if isinstance(raw, list) else str(raw).split(",")
    ids = [str(value).strip() for value in values if str(value).strip()]
    if len(ids) > MAX_SEARCH_IDS:
        raise ValidationError(f"At most {MAX_SEARCH_IDS} transaction IDs per search.", field="id.in")
    if any("\x00" in value or len(value) > 128 for value in ids):
        raise ValidationError("A transaction ID is at most 128 characters, without NUL.", field="id.in")
    return ids


class CustomerTransactionSearchView(ApiView):
    """`GET|POST /customers/{id}/transactions/-/search` (reference: the Transactions API): the
    customer's transactions whose ID is in `id.in` (a JSON array in a POST body, comma-separated
    in a query: up to 5,000 IDs) or equals `id`, optionally of one `status`; `{data, total}`,
    paged by `limit` (1-500, default 100) and `offset`, oldest first."""

    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_transaction_search",
        summary="Search a customer's transactions by ID (id.in) and status",
        parameters=[
            schema.CUSTOMER_REF,
            OpenApiParameter("id.in", str, description="comma-separated transaction IDs (up to 5,000)"),
            OpenApiParameter("id", str, description="one transaction ID"),
            OpenApiParameter("status", str, description="draft, pending, accepted, rejected or refunded"),
            OpenApiParameter("limit", int, description="1-500 (default 100)"),
            OpenApiParameter("offset", int, description="rows to skip"),
        ],
        responses=schema.reads(
            inline_serializer(
                "TransactionSearch",
                {"data": TransactionSerializer(many=True), "total": serializers.IntegerField()},
            )
        ),
        tags=["transactions"],
    )
    def get(self, request, id):
        return self.search(request, id, request.query_params)

    @extend_schema(
        operation_id="customer_transaction_search_post",
        summary="Search a customer's transactions by ID: the same, the criteria in the body",
        parameters=[schema.CUSTOMER_REF],
        request={
            "application/json": inline_serializer(
                "TransactionSearchRequest",
                {
                    "id.in": serializers.ListField(child=serializers.CharField(), required=False),
                    "id": serializers.CharField(required=False),
                    "status": serializers.CharField(required=False),
                },
            )
        },
        responses=schema.writes(
            inline_serializer(
                "TransactionSearchPost",
                {"data": TransactionSerializer(many=True), "total": serializers.IntegerField()},
            )
        ),
        tags=["transactions"],
    )
    def post(self, request, id):
        criteria = {
            **json_body(request),
            **{k: v for k, v in request.query_params.items() if k in ("limit", "offset")},
        }
        return self.search(request, id, criteria)

    def search(self, request, id, criteria):
        customer = find_or_404(request, id)
        unknown = set(criteria) - {"id.in", "id", "status", "limit", "offset", "api_key"}
        if unknown:
            name = sorted(unknown)[0][:100]
            raise ValidationError(f"{name!r} is not a criterion of this search.", field=name)
        rows = Transaction.objects.filter(customer=customer).select_related("account")
        ids = _search_ids(criteria.get("id.in"))
        if ids is not None:
            rows = rows.filter(transaction_id__in=ids)
        single = criteria.get("id")
        if single not in (None, ""):
            rows = rows.filter(transaction_id__in=_search_ids(str(single)) or [])
        status = criteria.get("status")
        if status not in (None, ""):
            if status not in TransactionStatus.values:
                raise ValidationError(
                    f"Unknown status {str(status)[:40]!r} (use {', '.join(TransactionStatus.values)}).",
                    field="status",
                )
            rows = rows.filter(status=status)
        pager = {k: str(criteria[k]) for k in ("limit", "offset") if criteria.get(k) is not None}
        pager.setdefault("limit", "100")  # the reference's default
        limit, offset = paging.page_limit(pager), paging.page_offset(pager)
        total = rows.count()  # bounded: one customer's transactions
        page = list(rows.order_by("id")[offset : offset + limit])
        return Response({"data": [transaction_object(tx) for tx in page], "total": total})


def _bonus_object(bonus: preview.Bonus) -> dict:
    campaign = bonus.campaign
    return {
        "automation": str(bonus.workflow_id),
        "points": bonus.points,
        "campaign": {
            "id": str(campaign.id),
            "name": campaign.name,
            "issued_points": campaign.issued_points,
            "customer_points": campaign.customer_points,
        },
    }


def _preview_part(base: int, bonuses: list[preview.Bonus]) -> dict:
    bonus = sum(b.points for b in bonuses)
    return {
        "campaigns": [_bonus_object(b) for b in bonuses],
        "purchase": {"base": base, "bonus": bonus, "points": base + bonus},
    }


def points_preview_object(outcome: preview.PointsPreview, *, multi_accounts: bool) -> dict:
    """`{campaigns: [{automation, points, campaign: {id, name, issued_points, customer_points}}],
    purchase: {base, bonus, points}, accounts?: [{id, name, campaigns, purchase}], errors?: [...]}`
    (docs/api.md "Points Preview"). Points are whole points; IDs are strings as the reference's."""
    tx = outcome.result.extra.get("transaction")
    base = int(tx.points_earned) if tx is not None else 0
    body = _preview_part(base, outcome.bonuses)
    if multi_accounts and tx is not None:
        accounts = {tx.account.pk: tx.account} | {b.account.pk: b.account for b in outcome.bonuses}
        body["accounts"] = [
            {
                "id": account.code,
                "name": account.name,
                **_preview_part(
                    base if account.pk == tx.account.pk else 0,
                    [b for b in outcome.bonuses if b.account.pk == account.pk],
                ),
            }
            for account in accounts.values()
        ]
    if outcome.errors:
        body["errors"] = [
            {
                "automation": str(error.workflow_id),
                "campaign": {"id": str(error.campaign.id), "name": error.campaign.name},
                "code": error.code,
                "message": error.message,
            }
            for error in outcome.errors
        ]
    return body


class PointsPreviewView(ApiView):
    """`POST /extensions/automation/campaign-bonus` (the reference's Points Preview API): the
    points a `checkout` would earn — `base` from the earning rules, `bonus` from the Campaign
    bonus nodes of the running campaigns' workflows it would trigger — by running both and
    rolling everything back (workflows.preview; nothing is stored, the transaction ID need not
    be new). Answers `{data: points_preview_object}`; a refused checkout answers the engine's
    error, a campaign's failing bonus node is listed in `errors`, never a 500."""

    required_scope = Scope.EVENTS_WRITE
    atomic_post = False  # workflows.preview rolls its own transaction back

    @extend_schema(
        operation_id="points_preview",
        summary="Preview the points a checkout would earn, campaign bonuses included (nothing stored)",
        request={
            "application/json": inline_serializer(
                "PointsPreviewRequest",
                {
                    "customer": serializers.CharField(),
                    "action": serializers.CharField(help_text="`checkout`"),
                    "account": serializers.CharField(required=False),
                    "data": serializers.DictField(),
                },
            )
        },
        responses=schema.writes(inline_serializer("PointsPreview", {"data": serializers.DictField()})),
        tags=["transactions"],
    )
    def post(self, request):
        body = json_body(request)
        if body.get("action") != "checkout":
            raise ValidationError("The Points Preview is for `checkout` events.", field="action")
        data = body.get("data")
        if not isinstance(data, dict) or data.get("transaction_id") in (None, ""):
            raise MissingParameter(
                "Missing required attribute 'transaction_id'.", field="data.transaction_id"
            )
        # The shop's ID is checked as the checkout checks it (a string of at most 128 characters,
        # storable); a preview of an order already sent is still a preview: the run uses its own ID.
        transaction_id = coerce(TRANSACTION_ID.type, data["transaction_id"], TRANSACTION_ID.name)
        check_storable(transaction_id, "data.transaction_id")
        check_bounds(TRANSACTION_ID, transaction_id)
        checkout = {**body, "data": {**data, "transaction_id": f"preview-{uuid.uuid4().hex}"}}
        outcome = preview.preview_checkout(
            request.auth.environment, lambda: register_from_request(request, checkout)
        )
        multi = Program.current().multi_accounts
        return Response({"data": points_preview_object(outcome, multi_accounts=multi)})
