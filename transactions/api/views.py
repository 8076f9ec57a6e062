"""Display API transactions (reference-behaviour.md §8.2): a customer's transactions with their
status, one transaction with its items, and the events of one transaction. Read-only."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from customers.api.serializers import AccountRefSerializer
from events.api.serializers import EventSerializer, event_object
from events.models import Event
from loyalty.api import paging, schema
from loyalty.api.filtering import filtered
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404
from loyalty.api.views import ApiView
from loyalty.errors import NotFound
from transactions.filtersets import ApiTransactionFilterSet
from transactions.models import Transaction

TRANSACTION_REF = OpenApiParameter(
    "transaction_id", str, OpenApiParameter.PATH, description="the shop's transaction ID"
)


def _money(value):
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(value):
    return value.isoformat() if value else None


def transaction_object(tx: Transaction, *, items: bool = False) -> dict:
    body = {
        "transaction_id": tx.transaction_id,
        "status": tx.status,
        "total": _money(tx.total),
        "refunded": _money(tx.refunded_value),
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
                "price": _money(item.price),
                "discount": _money(item.discount),
                "subtotal": _money(item.subtotal),
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
