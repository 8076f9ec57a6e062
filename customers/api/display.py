"""Display API customer endpoints of the Custom login module (reference §8.2):

    POST /customers/-/login    `customer`: registers `login` (and `daily_login` once per calendar day)
    GET  /customers/-/verify   `token`, optional `redirect_url`: registers `verify` (pending -> active)

The shop authenticates its customer itself (customers have no password here: the Display API
opt-in checks `password` against `confirm_password` but stores neither), so login takes the
customer's ID or `field:value`."""

from __future__ import annotations

from urllib.parse import urlsplit

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from customers.verification import read_token
from events.api.views import event_response, register_from_request
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.views import ApiView
from loyalty.errors import MissingParameter, ValidationError

from .serializers import CustomerWithEventsSerializer


class LoginView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_login",
        summary="Record a customer's login (daily_login at most once per calendar day)",
        parameters=[schema.IDEMPOTENCY_KEY],
        request=inline_serializer("LoginRequest", {"customer": serializers.CharField()}),
        responses=schema.writes(CustomerWithEventsSerializer),
        tags=["customers"],
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise ValidationError("The request body must be an object.")
        customer = body.get("customer")
        if customer in (None, ""):
            raise MissingParameter("Missing required parameter 'customer'.", field="customer")
        if not isinstance(customer, str):
            raise ValidationError("Parameter 'customer' must be a string.", field="customer")
        result = register_from_request(request, {"data": {}}, action="login", customer=customer)
        answer = event_response(result)
        answer["daily_login"] = any(event.action == "daily_login" for event in result.events)
        return Response(answer)


def safe_redirect(url: str | None) -> str | None:
    if url in (None, ""):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "\n" in url or "\r" in url:
        raise ValidationError("'redirect_url' must be an http(s) URL.", field="redirect_url")
    return url


class VerifyView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_verify",
        summary="Verify a pending customer with a token (302 to redirect_url when given)",
        parameters=[
            OpenApiParameter("token", str, required=True, description="from the opt-in's verification_token"),
            OpenApiParameter("redirect_url", str, description="http(s) URL to redirect to afterwards"),
        ],
        responses={**schema.writes(CustomerWithEventsSerializer), 302: None},
        tags=["customers"],
    )
    def get(self, request):
        params = request.query_params
        redirect = safe_redirect(params.get("redirect_url"))
        customer_id = read_token(params.get("token"), request.auth.environment)
        result = register_from_request(request, {"data": {}}, action="verify", customer=customer_id)
        if redirect:
            response = Response(status=302)
            response["Location"] = redirect
            return response
        return Response(event_response(result))
