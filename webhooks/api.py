"""`POST|PUT /api/hooks/<name>`: incoming webhooks (the reference's Incoming webhooks module).

In order: the endpoint (active, its method), the API's size limit (413), the endpoint's rate limit
(429), authentication (401), the body (JSON under the API's strict rules, or a form; 400), the
filters (a request that does not match is logged as filtered and answered 200, so the sender does
not retry it), the mapping (400 naming the attribute), then one event through register_event with
source `webhook`. `Idempotency-Key` or `webhook-id` de-duplicates: a repeated key is answered with
the first request's event and registers nothing. Every request is logged (headers without
credentials) with its answer and reason — refusals before the body is read too: 404 for an
unknown name (logged with the name) or an inactive endpoint (logged against it), 405, 413 (the
body not read), 429. Refusals that come before authentication are logged at most
settings.WEBHOOK_REFUSAL_LOG_PER_MINUTE times a minute per endpoint (per installation for unknown
names), so a flood cannot fill the log. Errors use the API's envelope, never a 500 for bad input.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from events.choices import EventSource
from events.engine import register_event
from loyalty.api import errors as api_errors
from loyalty.api import ratelimit
from loyalty.api.strictjson import BodyError, loads
from loyalty.api.views import max_body_bytes, read_chunked_body
from loyalty.bounds import is_digits
from loyalty.errors import EngineError
from loyalty.models import Program

from . import incoming, secrets
from .choices import IncomingStatus
from .models import IncomingEndpoint, IncomingRequest

log = logging.getLogger("loyalty.webhooks")

BODY_LOG_CHARS = 64 * 1024


def _headers(request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items()}


def _parse(raw: bytes, content_type: str):
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise incoming.HookBodyError("The body is not UTF-8 text.") from None
    if content_type.startswith("application/x-www-form-urlencoded"):
        if "\x00" in text:
            raise incoming.HookBodyError("The body contains a NUL character.")
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=1000))
    try:
        return loads(text)
    except BodyError as error:
        raise incoming.HookBodyError(str(error.detail)) from None


def _log(endpoint, request, raw: bytes, secret: str, name: str = "", **fields) -> IncomingRequest:
    body = raw[:BODY_LOG_CHARS].decode("utf-8", errors="replace").replace("\x00", "")
    if secret:
        body = body.replace(secret, "[hidden]")
    return IncomingRequest.objects.create(
        endpoint=endpoint,
        endpoint_name=(name or endpoint.name)[:100].replace("\x00", ""),
        received_at=timezone.now(),
        method=request.method[:8],
        headers=incoming.loggable_headers(_headers(request), endpoint),
        body=body,
        remote_addr=request.META.get("REMOTE_ADDR") or None,
        **fields,
    )


def _error(endpoint, request, raw, secret, error: EngineError, status=IncomingStatus.REFUSED):
    _log(
        endpoint,
        request,
        raw,
        secret,
        status=status,
        http_status=error.status,
        code=error.code,
        reason=error.message[:1000],
    )
    return api_errors.json_error(error)


def refusal_log_limit() -> int:
    return int(getattr(settings, "WEBHOOK_REFUSAL_LOG_PER_MINUTE", 60))


def _refuse(endpoint, name: str, request, error: EngineError, raw: bytes = b""):
    """Answer a refusal that comes before authentication, logging it within the per-minute cap
    (endpoint None: an unknown name, logged with the name)."""
    bucket = f"hook-refused-{endpoint.pk if endpoint is not None else 'unknown'}"
    if not ratelimit.hit(bucket, refusal_log_limit()).exceeded:
        _log(
            endpoint,
            request,
            raw,
            secrets.decrypt(endpoint.secret_encrypted) if endpoint is not None else "",
            name=name,
            status=IncomingStatus.REFUSED,
            http_status=error.status,
            code=error.code,
            reason=error.message[:1000],
        )
    return api_errors.json_error(error)


@csrf_exempt
def receive(request, name: str):
    if not Program.current().incoming_webhooks:
        return api_errors.json_error(api_errors.EndpointNotFound(f"No active incoming webhook {name!r}."))
    endpoint = IncomingEndpoint.objects.filter(name=name).first()
    if endpoint is None:
        error = api_errors.EndpointNotFound(f"No incoming webhook {name!r}.")
        return _refuse(None, name, request, error)
    if not endpoint.active:
        error = api_errors.EndpointNotFound(f"The incoming webhook {name!r} is inactive.")
        return _refuse(endpoint, name, request, error)
    if request.method != endpoint.method:
        error = api_errors.MethodNotAllowed(f"This webhook accepts {endpoint.method}.")
        response = _refuse(endpoint, name, request, error)
        response["Allow"] = endpoint.method
        return response
    try:
        read_chunked_body(request)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not is_digits(length):
            raise api_errors.MalformedRequest("Invalid Content-Length header.")
        if int(length) > max_body_bytes():
            raise api_errors.RequestTooLarge(
                f"The request body ({int(length)} bytes) may be at most {max_body_bytes()} bytes; not read."
            )
    except EngineError as error:
        return _refuse(endpoint, name, request, error)
    state = ratelimit.hit(f"hook{endpoint.pk}", endpoint.rate_limit)
    if state.exceeded:
        error = api_errors.RateLimited(f"Rate limit of {state.limit} requests a minute exceeded.")
        response = _refuse(endpoint, name, request, error, request.body)
        response["Retry-After"] = str(max(state.reset, 1))
        return response
    raw = request.body
    secret = secrets.decrypt(endpoint.secret_encrypted)
    headers = _headers(request)
    try:
        body = _parse(raw, request.content_type or "")
        incoming.authenticate(endpoint, raw, headers, body)
    except EngineError as error:
        return _error(endpoint, request, raw, secret, error)
    ctx = incoming.context(body, headers)
    if not incoming.passes_filters(endpoint, ctx):
        _log(
            endpoint,
            request,
            raw,
            secret,
            status=IncomingStatus.FILTERED,
            http_status=200,
            reason="The request did not match the filters.",
        )
        return JsonResponse({"status": "filtered"})
    try:
        mapped = incoming.map_request(endpoint, ctx)
    except EngineError as error:
        return _error(endpoint, request, raw, secret, error)
    key = (request.headers.get("Idempotency-Key") or request.headers.get("webhook-id") or "").strip()[:200]
    try:
        with transaction.atomic():
            row = _log(
                endpoint,
                request,
                raw,
                secret,
                status=IncomingStatus.ACCEPTED,
                http_status=200,
                dedup_key=key.replace("\x00", ""),
            )
            result = register_event(
                environment=endpoint.environment,
                customer=mapped.customer,
                action=mapped.action,
                data=mapped.data,
                source=EventSource.WEBHOOK,
                reason=f"Incoming webhook {endpoint.name}",
                ip_address=request.META.get("REMOTE_ADDR"),
                user_agent=request.headers.get("User-Agent", ""),
            )
            row.event = result.event
            row.customer = result.customer
            row.save(update_fields=["event", "customer"])
    except IntegrityError:
        first = IncomingRequest.objects.filter(
            endpoint=endpoint, dedup_key=key, status=IncomingStatus.ACCEPTED
        ).first()
        _log(
            endpoint,
            request,
            raw,
            secret,
            status=IncomingStatus.DUPLICATE,
            http_status=200,
            dedup_key=key,
            event_id=getattr(first, "event_id", None),
            reason="Already received with this key; nothing registered.",
        )
        return JsonResponse({"status": "duplicate", "event": getattr(first, "event_id", None)})
    except EngineError as error:
        return _error(endpoint, request, raw, secret, error)
    return JsonResponse({"status": "accepted", "event": result.event.pk, "action": mapped.action})
