"""Pending triggers in the integration API (signed like the rest of /api/), in the key's environment:
the outbox rows of the Event triggers' action branches and their dead letters (workflows.pending).

- ``GET /api/pending-triggers`` (``?state=pending|retrying|failed``, keyset ``limit``/``after``):
  ``{"pending_triggers": [row], "next": cursor}``, oldest first (scope ``customers:read``);
- ``POST /api/pending-triggers/{id}/retry`` and ``/discard`` with ``{"reason": "..."}`` (scope
  ``entities``): the row after the retry / ``{"discarded": id}``;
- ``POST /api/pending-triggers/retry-failed`` with ``{"reason": "..."}``: ``{"queued": n}``.

Errors are the usual envelope: 404 (160404, field ``id``) for an unknown row, 400 (113401, field
``reason``) for a missing or blank reason, 400 (113400) for a bad ``state`` or a reason that is
not a string or longer than 1,000 characters, 422 (160422, field ``id``) for retrying a row that
has not failed. Nothing is changed by a refused request.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.bounds import is_digits
from loyalty.errors import MissingParameter, NotFound, ValidationError

from .. import pending
from ..choices import TriggerState
from ..models import PendingTrigger
from .views import _page, _unix

ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
MAX_REASON = 1000
_S = serializers
_ROW_FIELDS = {
    "id": _S.IntegerField(),
    "state": _S.CharField(),
    "event": _S.IntegerField(allow_null=True),
    "events": _S.ListField(child=_S.IntegerField()),
    "customer": _S.CharField(allow_null=True),
    "workflows": _S.ListField(child=_S.IntegerField()),
    "attempts": _S.IntegerField(),
    "error": _S.CharField(allow_null=True),
    "created_at": _S.IntegerField(),
    "next_try_at": _S.IntegerField(allow_null=True),
    "failed_at": _S.IntegerField(allow_null=True),
}
ROW = inline_serializer("PendingTrigger", _ROW_FIELDS)
ROW_LIST = inline_serializer(
    "PendingTriggerList",
    {
        "pending_triggers": inline_serializer("PendingTriggerItem", _ROW_FIELDS, many=True),
        "next": _S.CharField(allow_null=True),
    },
)
REASON = inline_serializer("PendingTriggerReason", {"reason": _S.CharField()})


def row_object(row: PendingTrigger) -> dict:
    """One row as the API shows it; `row` went through pending.annotate."""
    customer = row.event.customer if row.event is not None else None
    return {
        "id": row.pk,
        "state": row.state,
        "event": row.event.pk if row.event is not None else row.main_event_id,
        "events": [pk for pk in row.event_ids or [] if isinstance(pk, int)],
        "customer": customer.customer_id if customer and customer.anonymized_at is None else None,
        "workflows": [pk for pk, _name in row.workflows],
        "attempts": row.attempts,
        "error": row.error or None,
        "created_at": _unix(row.created_at),
        "next_try_at": None if row.failed_at else _unix(row.available_at),
        "failed_at": _unix(row.failed_at),
    }


def _rows(request, ids) -> list[dict]:
    rows = PendingTrigger.objects.filter(environment=request.auth.environment, pk__in=ids)
    return [row_object(row) for row in pending.annotate(list(rows.order_by("id")))]


def _id(id) -> int:
    if not is_digits(id):
        raise NotFound(f"No pending trigger {id!r}.", field="id")
    return int(id)


def _reason(request) -> str:
    body = json_body(request, what="a JSON object with a 'reason'")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError("'reason' must be a string.", field="reason")
    if not (reason or "").strip():
        raise MissingParameter("Missing required parameter 'reason'.", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"'reason' may be at most {MAX_REASON} characters.", field="reason")
    if "\x00" in reason:  # PostgreSQL cannot store it in the change log: refused, not a 500
        raise ValidationError("'reason' contains a NUL character.", field="reason")
    return reason.strip()


def _actor(request) -> str:
    return f"API key {request.auth.name}"


class PendingTriggerListView(ApiView):
    required_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="pending_trigger_list",
        summary="The outbox rows of the workflows' action branches, keyset-paged",
        parameters=[OpenApiParameter("state", str, enum=TriggerState.values), *schema.PAGE_PARAMETERS],
        responses=schema.reads(ROW_LIST),
        tags=["workflows"],
    )
    def get(self, request):
        state = request.query_params.get("state")
        if state and state not in TriggerState.values:
            raise ValidationError(f"'state' must be one of {', '.join(TriggerState.values)}.", field="state")
        qs = pending.in_state(PendingTrigger.objects.filter(environment=request.auth.environment), state)
        rows, next_cursor = _page(request, qs, lambda row: row)
        return Response(
            {"pending_triggers": [row_object(r) for r in pending.annotate(rows)], "next": next_cursor}
        )


class PendingTriggerRetryView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="pending_trigger_retry",
        summary="Queue a failed or retrying row for the next drain, with a fresh attempt budget",
        parameters=[ID],
        request=REASON,
        responses=schema.writes(ROW),
        tags=["workflows"],
    )
    def post(self, request, id):
        pk, reason = _id(id), _reason(request)
        pending.retry(request.auth.environment, [pk], reason=reason, actor=_actor(request))
        return Response(_rows(request, [pk])[0])


class PendingTriggerDiscardView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="pending_trigger_discard",
        summary="Drop the action branch of a row's events (change log with the reason)",
        parameters=[ID],
        request=REASON,
        responses=schema.writes(
            inline_serializer("PendingTriggerDiscarded", {"discarded": _S.IntegerField()})
        ),
        tags=["workflows"],
    )
    def post(self, request, id):
        pk, reason = _id(id), _reason(request)
        pending.discard(request.auth.environment, pk, reason=reason, actor=_actor(request))
        return Response({"discarded": pk})


class PendingTriggerRetryFailedView(ApiView):
    required_scope = Scope.ENTITIES

    @extend_schema(
        operation_id="pending_trigger_retry_failed",
        summary="Queue every failed row (at most 10,000) for the next drain",
        request=REASON,
        responses=schema.writes(inline_serializer("PendingTriggersQueued", {"queued": _S.IntegerField()})),
        tags=["workflows"],
    )
    def post(self, request):
        queued = pending.retry_failed(
            request.auth.environment, reason=_reason(request), actor=_actor(request)
        )
        return Response({"queued": queued})
