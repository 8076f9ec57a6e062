"""The base view every API endpoint builds on, and the API's own small endpoints.

`ApiView` does, in order: size check (413), authentication (401), scope (403), rate limit (429,
headers on every response), idempotency (POST with `Idempotency-Key`), then the handler; every
error leaves as the reference envelope and every request as one access-log line.
"""

from __future__ import annotations

import io
import logging
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.bounds import is_digits
from loyalty.errors import ValidationError

from . import errors, idempotency, ratelimit, schema  # noqa: F401  (schema registers the auth extension)
from .auth import EscherAuthentication, touch
from .parsers import BracketFormParser
from .strictjson import StrictJSONParser

access_log = logging.getLogger("loyalty.api.access")


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", 2 * 1024 * 1024)


def read_chunked_body(django_request) -> None:
    """A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django then reads
    it as empty. The WSGI server (gunicorn) de-chunks `wsgi.input`: read it here, before the
    signature check and the parsers, under the same size limit (one byte more than allowed is
    enough to answer 413), and let the rest of the request see a body of known length."""
    meta = django_request.META
    if "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower() or meta.get("CONTENT_LENGTH"):
        return
    stream = meta.get("wsgi.input")
    limit = max_body_bytes()
    chunks, size = [], 0
    while stream is not None and size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise errors.RequestTooLarge(f"The request body may be at most {limit} bytes.")
    body = b"".join(chunks)
    django_request._stream = io.BytesIO(body)
    meta["CONTENT_LENGTH"] = str(len(body))


def refuse_nul_parameters(request) -> None:
    """No query parameter may hold a NUL character (PostgreSQL cannot compare text with one): a
    400 naming the parameter, for every endpoint, before any FilterSet or lookup sees it."""
    for name, values in request.query_params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            field = name.replace("\x00", "")[:100]
            raise ValidationError(f"Parameter {field!r} contains a NUL character.", field=field)


class JsonOnlyNegotiation(BaseContentNegotiation):
    """Always JSON: an Accept header the API cannot satisfy is not worth a 406."""

    def select_parser(self, request, parsers):
        content_type = request.content_type.split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class HasScope(BasePermission):
    def has_permission(self, request, view):
        scope = getattr(view, "required_scope", None)
        if scope and not request.auth.has_scope(scope):
            name = getattr(scope, "value", scope)  # the docs' name, `events:write`, not the enum's repr
            raise errors.MissingScope(f"The API key lacks the '{name}' scope.")
        return True


class ApiView(APIView):
    authentication_classes = [EscherAuthentication]
    permission_classes = [HasScope]
    parser_classes = [StrictJSONParser, BracketFormParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation
    throttle_classes: list = []
    required_scope: str | None = None

    def get_exception_handler(self):
        return errors.exception_handler

    def initial(self, request, *args, **kwargs):
        request._api_started = time.perf_counter()
        read_chunked_body(request._request)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not is_digits(length):
            raise errors.MalformedRequest("Invalid Content-Length header.")
        if int(length) > self.body_limit():
            raise errors.RequestTooLarge(f"The request body may be at most {self.body_limit()} bytes.")
        super().initial(request, *args, **kwargs)
        refuse_nul_parameters(request)
        if int(length) and request.method in ("POST", "PUT", "PATCH"):
            if self.get_content_negotiator().select_parser(request, self.get_parsers()) is None:
                raise errors.UnsupportedMediaType()
        if request.method == "POST" and request.META.get(idempotency.HEADER) is not None:
            request._idempotency = idempotency.begin(request.auth, request.META[idempotency.HEADER], request)
        if request.method == "POST" and self.atomic_post and hasattr(self, "post"):
            # The handler's own attribute, for this request only: see run_atomically.
            self.post = self.run_atomically(self.post)  # type: ignore[method-assign]

    def body_limit(self) -> int:
        """The largest body this view takes (file uploads raise it)."""
        return max_body_bytes()

    # POST handlers run in one transaction that also stores the idempotent response: everything the response needs is read before the commit, and the event and its key's
    # response commit together. A view whose events must commit one by one (bulk) sets False.
    atomic_post = True

    def run_atomically(self, handler):
        def run(request, *args, **kwargs):
            with transaction.atomic():
                response = handler(request, *args, **kwargs)
                record = getattr(request, "_idempotency", None)
                if record is not None and response.status_code < 500:
                    body = (
                        JSONRenderer().render(response.data)
                        if hasattr(response, "data")
                        else response.content
                    )
                    idempotency.complete(record, response.status_code, bytes(body))
                    response = HttpResponse(
                        body, status=response.status_code, content_type="application/json"
                    )
            return response

        return run

    def check_throttles(self, request):
        api_key = request.auth
        state = ratelimit.hit(api_key.pk, api_key.rate_limit)
        request._rate_state = state
        if state.remaining == api_key.rate_limit - 1:
            touch(api_key)  # first request of the window: last use, at most once a minute
        if state.exceeded:
            error = errors.RateLimited(f"Rate limit of {state.limit} requests a minute exceeded.")
            error.headers = {"Retry-After": str(max(state.reset, 1))}
            raise error

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response()
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request, "_rate_state", None)
        if state is not None:
            for name, value in state.headers().items():
                response[name] = value
        record = getattr(request, "_idempotency", None)
        if record is not None:
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            idempotency.finish(record, response)
            request._idempotency = None
        log_access(request, response)
        return response


def log_access(request, response) -> None:
    """One line per request: key, environment, method, path, status, duration. No secrets, no bodies."""
    started = getattr(request, "_api_started", None)
    duration = (time.perf_counter() - started) * 1000 if started else 0.0
    api_key = getattr(request, "_auth", None) if hasattr(request, "_auth") else None
    access_log.info(
        "key=%s environment=%s method=%s path=%s status=%s duration_ms=%.1f",
        getattr(api_key, "key", "-"),
        getattr(api_key, "environment", "-"),
        request.method,
        request.path,
        response.status_code,
        duration,
    )


class PingView(ApiView):
    """A trivial authenticated endpoint: checks a key and measures the API's fixed overhead."""

    required_scope = None

    @extend_schema(
        operation_id="ping",
        summary="Check the API key",
        responses=schema.reads(
            inline_serializer(
                "Ping", {"ok": serializers.BooleanField(), "environment": serializers.CharField()}
            )
        ),
    )
    def get(self, request):

        return Response({"ok": True, "environment": request.auth.environment})


class SchemaView(SpectacularAPIView):
    """The OpenAPI document of the API (public; the UI at /api/docs/ reads it). Its hooks are in
    SPECTACULAR_SETTINGS, so `manage.py spectacular` writes the same document."""


@csrf_exempt
def trivial_view(request):
    """Benchmark baseline: a plain Django view behind the same middleware, no auth, no database."""
    return JsonResponse({"ok": True})


@csrf_exempt  # an unknown POST must get the JSON 404, not the CSRF middleware's HTML 403
def not_found(request, path=""):
    """Any unknown path under /api/ answers with the envelope, not an HTML page."""
    response = errors.json_error(errors.EndpointNotFound(f"No endpoint at {request.path[:200]!r}."))
    log_access(request, response)
    return response
