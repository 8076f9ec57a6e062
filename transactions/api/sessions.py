"""The sessions export of the integration API (reference §7.4, Talon.One
`GET /v1/applications/{applicationId}/export_customer_sessions`):

GET /api/sessions/export    CSV (transactions.session_export); createdAfter, createdBefore,
                            profileIntegrationId, dateFormat (iso8601 | ymd | dmy | mdy)
"""

from __future__ import annotations

import datetime as dt

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema

from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404
from loyalty.api.views import ApiView
from loyalty.errors import ValidationError
from loyalty.ledger.log import DATE_FORMATS
from loyalty.models import Program
from transactions import session_export


def _when(params, name):
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValidationError(f"{name!r} must be an ISO 8601 date or date-time.", field=name) from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class SessionExportView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="sessions_export",
        summary="Export customer sessions (transactions) as CSV, timestamps in UTC",
        parameters=[
            OpenApiParameter("createdAfter", str),
            OpenApiParameter("createdBefore", str),
            OpenApiParameter("profileIntegrationId", str, description="one customer's sessions"),
            OpenApiParameter("dateFormat", str, enum=list(DATE_FORMATS)),
        ],
        responses=schema.csv_read(),
        tags=["transactions"],
    )
    def get(self, request):
        if not Program.current().transactions:
            raise ValidationError("The transactions module is off.", field="module")
        params = request.query_params
        date_format = params.get("dateFormat") or "iso8601"
        if date_format not in DATE_FORMATS:
            raise ValidationError(f"'dateFormat' is one of {', '.join(DATE_FORMATS)}.", field="dateFormat")
        after, before = _when(params, "createdAfter"), _when(params, "createdBefore")
        if after is not None and before is not None and before <= after:
            raise ValidationError("'createdBefore' must be after 'createdAfter'.", field="createdBefore")
        customer = None
        if params.get("profileIntegrationId"):
            customer = find_or_404(request, params["profileIntegrationId"])
        lines = session_export.export_csv(
            environment=request.auth.environment,
            date_format=date_format,
            customer=customer,
            created_after=after,
            created_before=before,
        )
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sessions.csv"'
        return response
