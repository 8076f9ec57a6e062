"""Ledger API (Talon.One's profile balances / transactions / export_log), read-only:
points are added and deducted through the Events API (`point_add` / `point_sub` with
`subledger`, `reward_start`, `reward_expiration`).

GET /api/customers/{id}/ledgers                   balances per ledger (account or subledger)
GET /api/customers/{id}/ledgers/transactions      the transaction log, newest first, keyset pages
    ?ledger=<account>|<account>/<subledger>|all (default: the main ledger), limit, after
GET /api/customers/{id}/ledgers/export_log        CSV; rangeStart (required), rangeEnd, dateFormat
"""

from __future__ import annotations

import datetime as dt

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api import paging, schema
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404
from loyalty.api.views import ApiView
from loyalty.errors import MissingParameter, ValidationError
from loyalty.ledger import log as ledger_log
from loyalty.models import PointBalance

LEDGERS = inline_serializer(
    "CustomerLedgers",
    {
        "ledgers": inline_serializer(
            "Ledger",
            {
                "ledger": serializers.CharField(),
                "subledger": serializers.CharField(allow_null=True),
                "activePoints": serializers.IntegerField(),
                "pendingPoints": serializers.IntegerField(),
                "spentPoints": serializers.IntegerField(),
                "expiredPoints": serializers.IntegerField(),
            },
            many=True,
        )
    },
)
TRANSACTIONS = inline_serializer(
    "LedgerTransactionPage",
    {
        "transactions": inline_serializer(
            "LedgerTransaction",
            {
                "id": serializers.IntegerField(),
                "created": serializers.CharField(),
                "ledger": serializers.CharField(),
                "type": serializers.CharField(),
                "amount": serializers.IntegerField(),
                "name": serializers.CharField(),
                "startDate": serializers.CharField(allow_null=True),
                "expiryDate": serializers.CharField(allow_null=True),
                "customerSessionId": serializers.CharField(allow_null=True),
                "event": serializers.IntegerField(),
            },
            many=True,
        ),
        "next": serializers.CharField(allow_null=True),
    },
)


def _ledger_param(customer, value):
    choices, chosen = ledger_log.pick(customer, value or None)
    if value and value != ledger_log.ALL and (chosen is None or chosen.value != value):
        raise ValidationError(f"Unknown ledger {value[:100]!r}.", field="ledger")
    return choices, chosen


class CustomerLedgersView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_ledgers",
        summary="The customer's ledgers (accounts and subledgers) with active and pending points",
        parameters=[schema.CUSTOMER_REF],
        responses=schema.reads(LEDGERS),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        choices = ledger_log.ledgers(customer)
        rows = {
            row.account_id: row
            for row in PointBalance.objects.filter(
                customer=customer, account_id__in=[c.account.pk for c in choices]
            )
        }
        ledgers = []
        for ledger in choices:
            row = rows.get(ledger.account.pk)
            ledgers.append(
                {
                    "ledger": ledger.value,
                    "subledger": ledger.account.code if ledger.is_subledger else None,
                    "activePoints": row.spendable if row else 0,
                    "pendingPoints": row.pending if row else 0,
                    "spentPoints": row.spent if row else 0,
                    "expiredPoints": row.expired if row else 0,
                }
            )
        return Response({"ledgers": ledgers})


def entry_object(entry) -> dict:
    lot = entry.lot if entry.amount > 0 else None
    return {
        "id": entry.pk,
        "created": entry.created_at.isoformat(),
        "ledger": ledger_log.ledger_name(entry),
        "type": "addition" if entry.amount > 0 else "subtraction",
        "amount": entry.amount,
        "name": ledger_log.reason_of(entry),
        "startDate": (lot.activates_at.isoformat() if lot and lot.activates_at else "immediate")
        if lot
        else None,
        "expiryDate": (lot.expires_at.isoformat() if lot and lot.expires_at else "unlimited")
        if lot
        else None,
        "customerSessionId": ledger_log.session_of(entry) or None,
        "event": entry.event_id,
    }


class CustomerLedgerTransactionsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_ledger_transactions",
        summary="The customer's point transactions (newest first)",
        parameters=[
            schema.CUSTOMER_REF,
            OpenApiParameter("ledger", str, description="account code, account/subledger, or all"),
            *schema.PAGE_PARAMETERS,
        ],
        responses=schema.reads(TRANSACTIONS),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        params = request.query_params
        _choices, chosen = _ledger_param(customer, params.get("ledger"))
        limit = paging.page_limit(params)
        cursor = paging.decode_cursor(params, 1)
        queryset = ledger_log.entries(customer, chosen)
        if cursor is not None:
            if not isinstance(cursor[0], int) or isinstance(cursor[0], bool):
                raise ValidationError("'after' is not a cursor returned by this endpoint.", field="after")
            queryset = queryset.filter(id__lt=cursor[0])
        rows, next_cursor = paging.page(list(queryset[: limit + 1]), limit, lambda entry: (entry.pk,))
        return Response({"transactions": [entry_object(e) for e in rows], "next": next_cursor})


def _date(params, name, required=False):
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise MissingParameter(f"Missing required parameter {name!r}.", field=name)
        return None
    try:
        value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{name!r} must be an ISO 8601 date or date-time.", field=name) from None


class CustomerLedgerExportView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_ledger_export_log",
        summary="The customer's transaction log as CSV (timestamps in UTC)",
        parameters=[
            schema.CUSTOMER_REF,
            OpenApiParameter("rangeStart", str, required=True),
            OpenApiParameter("rangeEnd", str),
            OpenApiParameter("dateFormat", str, enum=list(ledger_log.DATE_FORMATS)),
        ],
        responses=schema.csv_read(),
        tags=["customers"],
    )
    def get(self, request, id):
        customer = find_or_404(request, id)
        params = request.query_params
        after = _date(params, "rangeStart", required=True)
        before = _date(params, "rangeEnd")
        if before is not None and before <= after:
            raise ValidationError("'rangeEnd' must be after 'rangeStart'.", field="rangeEnd")
        date_format = params.get("dateFormat") or "iso8601"
        if date_format not in ledger_log.DATE_FORMATS:
            raise ValidationError(
                f"'dateFormat' is one of {', '.join(ledger_log.DATE_FORMATS)}.", field="dateFormat"
            )
        lines = ledger_log.export_csv(customer, after=after, before=before, date_format=date_format)
        return StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
