"""GET /api/customers/{id}/budgets: the customer's budgets with this period's counters
(Talon.One LimitCounter shape: action, limit, counter, period, couponValue, campaign)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404
from loyalty.api.views import ApiView
from loyalty.errors import ValidationError
from loyalty.models import Program

from ..views import budget_rows

BUDGETS = inline_serializer(
    "CustomerBudgets",
    {
        "budgets": inline_serializer(
            "CustomerBudget",
            {
                "id": serializers.IntegerField(),
                "campaign": serializers.CharField(),
                "action": serializers.CharField(),
                "limit": serializers.IntegerField(),
                "counter": serializers.IntegerField(),
                "period": serializers.CharField(),
                "periodStart": serializers.CharField(),
                "periodEnd": serializers.CharField(),
                "couponValue": serializers.CharField(allow_null=True),
            },
            many=True,
        )
    },
)


class CustomerBudgetsView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customer_budgets",
        responses=schema.reads(BUDGETS),
        summary="The customer's budgets and usage",
        parameters=[schema.CUSTOMER_REF],
        tags=["budgets"],
    )
    def get(self, request, id):
        if not Program.current().budgets:
            raise ValidationError("The budgets module is off.", field="budgets")
        customer = find_or_404(request, id)
        rows = budget_rows(customer)
        return Response(
            {
                "budgets": [
                    {
                        "id": row["budget"].pk,
                        "campaign": row["budget"].campaign,
                        "action": row["budget"].action,
                        "limit": row["budget"].limit,
                        "counter": row["used"],
                        "period": row["budget"].period,
                        "periodStart": row["start"].isoformat(),
                        "periodEnd": row["end"].isoformat(),
                        "couponValue": row["coupon"] or None,
                    }
                    for row in rows
                ]
            }
        )
