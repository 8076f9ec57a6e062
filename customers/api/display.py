"""Display API customer endpoints of the Custom login module (reference §8.2):

    POST /customers/-/login    `customer`: registers `login` (and `daily_login` once per calendar day)
    GET  /customers/-/verify   `token`, optional `redirect_url`: registers `verify` (pending -> active)

    POST /customers/-/password/request   `customer`: e-mails a password reset token
    POST /customers/-/password/reset     `token`, `password`, `confirm_password`: sets the password

A customer's password is set by opt_in / profile with `password` + `confirm_password` (only its
hash is kept, on the customer; events never store it). Login with `password` checks it (403,
101403 when it does not match); login without one records the login of a customer the shop
authenticated itself, as before."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.mail import send_mail
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from customers.lookup import find_customer
from customers.verification import make_reset_token, read_reset_token, read_token
from events.api.views import event_response, register_from_request
from loyalty.api import schema
from loyalty.api.models import Scope
from loyalty.api.requests import find_or_404, json_body
from loyalty.api.views import ApiView
from loyalty.errors import InvalidCredentials, MissingParameter, ValidationError

from .serializers import CustomerWithEventsSerializer


class LoginView(ApiView):
    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_login",
        summary="Record a customer's login (daily_login at most once per calendar day)",
        parameters=[schema.IDEMPOTENCY_KEY],
        request=inline_serializer(
            "LoginRequest",
            {"customer": serializers.CharField(), "password": serializers.CharField(required=False)},
        ),
        responses=schema.writes(CustomerWithEventsSerializer),
        tags=["customers"],
    )
    def post(self, request):
        body = json_body(request)
        customer = body.get("customer")
        if customer in (None, ""):
            raise MissingParameter("Missing required parameter 'customer'.", field="customer")
        if not isinstance(customer, str):
            raise ValidationError("Parameter 'customer' must be a string.", field="customer")
        if "password" in body:
            password = body["password"]
            found = find_or_404(request, customer)
            if (
                not isinstance(password, str)
                or not found.password
                or not check_password(password, found.password)
            ):
                raise InvalidCredentials(field="password")
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


class PasswordRequestView(ApiView):
    """`POST /customers/-/password/request` `{customer}`: e-mails the customer a password reset
    token (Django's e-mail backend: the console by default, SMTP with EMAIL_HOST), valid for
    PASSWORD_RESET_TIMEOUT seconds and usable once. `url` (optional, http(s)) is the shop's reset
    page; the e-mail links to it with `?token=`. Answers `{"sent": true}`; 404 160212 for an
    unknown customer, 400 when the customer has no e-mail address."""

    required_scope = Scope.EVENTS_WRITE
    atomic_post = False  # nothing is stored

    @extend_schema(
        operation_id="customer_password_request",
        summary="E-mail a customer a password reset token",
        request=inline_serializer(
            "PasswordRequest",
            {"customer": serializers.CharField(), "url": serializers.URLField(required=False)},
        ),
        responses=schema.writes(
            inline_serializer("PasswordRequestSent", {"sent": serializers.BooleanField()})
        ),
        tags=["customers"],
    )
    def post(self, request):
        body = json_body(request)
        customer = find_or_404(request, _text(body, "customer"))
        page = safe_redirect(body.get("url"))
        if not customer.email:
            raise ValidationError(
                "The customer has no e-mail address to send the token to.", field="customer"
            )
        token = make_reset_token(customer)
        link = f"{page}{'&' if '?' in page else '?'}{urlencode({'token': token})}" if page else token
        send_mail(
            "Reset your password",
            f"Use this to set a new password (valid for {settings.PASSWORD_RESET_TIMEOUT // 3600} hours):\n\n{link}\n",
            None,
            [customer.email],
        )
        return Response({"sent": True})


class PasswordResetView(ApiView):
    """`POST /customers/-/password/reset` `{token, password, confirm_password}`: sets the password
    (a `profile` event with the secret attributes; up to 128 characters); the token is then used up.
    Answers the Events API shape."""

    required_scope = Scope.EVENTS_WRITE

    @extend_schema(
        operation_id="customer_password_reset",
        summary="Set a customer's password with a reset token",
        parameters=[schema.IDEMPOTENCY_KEY],
        request=inline_serializer(
            "PasswordReset",
            {
                "token": serializers.CharField(),
                "password": serializers.CharField(),
                "confirm_password": serializers.CharField(),
            },
        ),
        responses=schema.writes(CustomerWithEventsSerializer),
        tags=["customers"],
    )
    def post(self, request):
        body = json_body(request)
        environment = request.auth.environment
        customer = read_reset_token(
            body.get("token"), environment, lambda customer_id: find_customer(environment, customer_id)
        )
        password = _text(body, "password")
        data = {"password": password, "confirm_password": body.get("confirm_password")}
        result = register_from_request(
            request, {"data": data}, action="profile", customer=customer.customer_id
        )
        return Response(event_response(result))


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if value in (None, ""):
        raise MissingParameter(f"Missing required parameter {name!r}.", field=name)
    if not isinstance(value, str):
        raise ValidationError(f"Parameter {name!r} must be a string.", field=name)
    return value
