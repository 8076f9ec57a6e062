"""GET/POST /api/sandbox/clock: see and advance the sandbox's test clock (sandbox keys
only; docs/api.md "Sandbox test clock"). The work is loyalty.sandbox's."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from events.validation import parse_moment
from loyalty import sandbox
from loyalty.api import errors, schema
from loyalty.api.models import Scope
from loyalty.api.requests import json_body
from loyalty.api.views import ApiView
from loyalty.errors import ValidationError

MAX_DAYS = 3650


def _number(body: dict, name: str, limit: float) -> float | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name!r} must be a number.", field=name) from None
    if not 0 < number <= limit:
        raise ValidationError(f"{name!r} must be more than 0 and at most {limit:g}.", field=name)
    return number


ClockSerializer = inline_serializer(
    "SandboxClock",
    {"now": serializers.DateTimeField(), "offset_seconds": serializers.IntegerField()},
)


class SandboxClockView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.auth.environment != sandbox.SANDBOX:
            raise errors.SandboxOnly()

    @extend_schema(
        operation_id="sandbox_clock",
        summary="The sandbox's current time (sandbox keys only)",
        responses=schema.reads(ClockSerializer),
        tags=["sandbox"],
    )
    def get(self, request):
        return Response(sandbox.status())

    @extend_schema(
        operation_id="sandbox_clock_advance",
        summary="Advance the sandbox's clock (never backwards) and run its scheduled work up to it",
        request=inline_serializer(
            "SandboxClockAdvance",
            {
                "to": serializers.DateTimeField(required=False),
                "days": serializers.FloatField(required=False),
                "seconds": serializers.FloatField(required=False),
            },
        ),
        responses=schema.writes(ClockSerializer),
        tags=["sandbox"],
    )
    def post(self, request):
        body = json_body(request, optional=True)
        days = _number(body, "days", MAX_DAYS)
        seconds = _number(body, "seconds", MAX_DAYS * 86400)
        given = [
            name for name, value in (("to", body.get("to")), ("days", days), ("seconds", seconds)) if value
        ]
        if len(given) != 1:
            raise ValidationError("Give exactly one of `to`, `days` or `seconds`.", field="to")
        if body.get("to"):
            try:
                to = parse_moment(body["to"], "to")
            except ValidationError as error:
                raise ValidationError(error.message, field="to") from None
            return Response(sandbox.advance(to=to))
        by = dt.timedelta(days=days) if days else dt.timedelta(seconds=seconds or 0)
        return Response(sandbox.advance(by=by, field="days" if days else "seconds"))
