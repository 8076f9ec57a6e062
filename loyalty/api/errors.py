"""The API's errors and the one envelope every error response uses:

    {"error": {"type": "BadRequestException", "code": 140400, "message": "...", "field": null}}

Engine errors (loyalty.errors, codes 113xxx/160xxx) keep their codes; the API's own plumbing
(authentication, scopes, rate limits, idempotency, request format) uses the 14xxxx range below.
Every code is listed in docs/api.md; never renumber one.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from loyalty.errors import EngineError, MissingParameter, ValidationError
from loyalty.observability import RETRY_AFTER_SECONDS, current_request_id, database_unavailable

log = logging.getLogger("loyalty.api")


class ApiError(EngineError):
    """An error of the API layer itself (the engine's EngineError shape, with an optional header)."""

    headers: dict[str, str] = {}


def _error(name, code, status, type_, message):
    return type(
        name, (ApiError,), {"code": code, "status": status, "type": type_, "default_message": message}
    )


_AUTH = "UnauthorizedException"
MissingAuthorization = _error(
    "MissingAuthorization",
    140101,
    401,
    _AUTH,
    "The Authorization header is missing: sign the request (ANTAVO-HMAC-SHA256) or use ?api_key=.",
)
MalformedAuthorization = _error(
    "MalformedAuthorization", 140102, 401, _AUTH, "The Authorization header is malformed."
)
UnknownApiKey = _error("UnknownApiKey", 140103, 401, _AUTH, "Unknown API key.")
BadSignature = _error("BadSignature", 140104, 401, _AUTH, "The request signature does not match.")
DateOutOfRange = _error(
    "DateOutOfRange",
    140105,
    401,
    _AUTH,
    "The request date is expired or too far from the server time (at most 300 seconds).",
)
RevokedApiKey = _error("RevokedApiKey", 140106, 401, _AUTH, "The API key has been revoked.")
UnsignedNotAllowed = _error(
    "UnsignedNotAllowed", 140107, 401, _AUTH, "This API key does not allow unsigned requests; sign them."
)
BadCredentialScope = _error("BadCredentialScope", 140108, 401, _AUTH, "The credential scope is invalid.")
MissingSignedHeader = _error(
    "MissingSignedHeader", 140109, 401, _AUTH, "A required header is missing or not signed."
)
ContentHashMismatch = _error(
    "ContentHashMismatch",
    140110,
    401,
    _AUTH,
    "The X-Content-Hash header does not match the body: the upload was altered after signing.",
)
MissingScope = _error(
    "MissingScope", 140301, 403, "ForbiddenException", "The API key lacks the scope for this endpoint."
)
SandboxOnly = _error(
    "SandboxOnly",
    140302,
    403,
    "ForbiddenException",
    "The test clock exists only in the sandbox: use a sandbox API key.",
)
MalformedRequest = _error(
    "MalformedRequest", 140400, 400, "BadRequestException", "The request body could not be parsed."
)
EndpointNotFound = _error("EndpointNotFound", 140404, 404, "NotFoundException", "No such endpoint.")
MethodNotAllowed = _error("MethodNotAllowed", 140405, 405, "MethodNotAllowedException", "Method not allowed.")
NotAcceptable = _error(
    "NotAcceptable", 140406, 406, "NotAcceptableException", "The API responds with JSON only."
)
IdempotencyInProgress = _error(
    "IdempotencyInProgress",
    140409,
    409,
    "ConflictException",
    "A request with this Idempotency-Key is still being processed; retry later.",
)
RequestTooLarge = _error(
    "RequestTooLarge", 140413, 413, "PayloadTooLargeException", "The request body is too large."
)
TooManyItems = _error(
    "TooManyItems", 140414, 413, "PayloadTooLargeException", "Too many items in one request."
)
UnsupportedMediaType = _error(
    "UnsupportedMediaType",
    140415,
    415,
    "UnsupportedMediaTypeException",
    "Send application/json or application/x-www-form-urlencoded.",
)
IdempotencyMismatch = _error(
    "IdempotencyMismatch",
    140422,
    422,
    "UnprocessableEntityException",
    "This Idempotency-Key was used with a different request.",
)
NotProcessed = _error(
    "NotProcessed",
    140424,
    424,
    "FailedDependencyException",
    "Not processed because an earlier item failed.",
)
RateLimited = _error(
    "RateLimited", 140429, 429, "TooManyRequestsException", "Rate limit exceeded; retry later."
)
InternalError = _error("InternalError", 150000, 500, "InternalServerErrorException", "Internal server error.")
ServiceUnavailable = _error(
    "ServiceUnavailable",
    150503,
    503,
    "ServiceUnavailableException",
    "The database is unavailable; nothing was stored. Retry after the Retry-After seconds.",
)

API_ERRORS = [
    MissingAuthorization,
    MalformedAuthorization,
    UnknownApiKey,
    BadSignature,
    DateOutOfRange,
    RevokedApiKey,
    UnsignedNotAllowed,
    BadCredentialScope,
    MissingSignedHeader,
    ContentHashMismatch,
    MissingScope,
    MalformedRequest,
    EndpointNotFound,
    MethodNotAllowed,
    NotAcceptable,
    IdempotencyInProgress,
    RequestTooLarge,
    TooManyItems,
    UnsupportedMediaType,
    IdempotencyMismatch,
    NotProcessed,
    RateLimited,
    InternalError,
    ServiceUnavailable,
]


def envelope(error: EngineError) -> dict:
    """`{"error": {type, code, message, field, request_id}}`: request_id is the request's ID (the
    X-Request-ID response header; loyalty.observability), the one its log lines carry."""
    body = error.as_dict()
    body["request_id"] = current_request_id()
    return {"error": body}


def error_response(error: EngineError, response_class=Response):
    response = response_class(envelope(error), status=error.status)
    for name, value in getattr(error, "headers", {}).items():
        response[name] = value
    return response


def from_drf(exc: drf.APIException) -> EngineError:
    """Map DRF's own exceptions onto our codes, so even its parse errors use the envelope."""
    detail = exc.detail
    if isinstance(exc, drf.ParseError):
        return MalformedRequest(
            f"The request body could not be parsed: {_text(detail)}", field=getattr(exc, "field", None)
        )
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType()
    if isinstance(exc, drf.MethodNotAllowed):
        return MethodNotAllowed(_text(detail))
    if isinstance(exc, drf.NotAcceptable):
        return NotAcceptable()
    if isinstance(exc, drf.NotFound):
        return EndpointNotFound(_text(detail))
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return MissingAuthorization()
    if isinstance(exc, drf.PermissionDenied):
        return MissingScope(_text(detail))
    if isinstance(exc, drf.Throttled):
        return RateLimited()
    if isinstance(exc, drf.ValidationError):
        return _validation_error(detail)
    return ApiError(_text(detail), code=140000)


def _validation_error(detail):

    field, messages = _first_field(detail)
    text = _text(messages)
    if any(getattr(m, "code", None) == "required" for m in _flatten(messages)):
        return MissingParameter(f"Missing required parameter {field!r}." if field else text, field=field)
    return ValidationError(f"{field}: {text}" if field else text, field=field)


def _first_field(detail, prefix=""):
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or None
            if isinstance(value, dict):
                return _first_field(value, name)
            if isinstance(value, list) and value and isinstance(value[0], dict | list):
                for index, item in enumerate(value):
                    if item:
                        return _first_field(item, f"{name}.{index}")
            return name, value
    return (prefix or None), detail


def _flatten(value):
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    else:
        yield value


def _text(detail) -> str:
    parts = [str(item) for item in _flatten(detail)]
    return " ".join(parts) if parts else "Invalid request."


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER for API views: every error, expected or not, as the envelope."""
    if isinstance(exc, EngineError):
        # An error that logs something once its transaction rolled back (a workflow Interrupt).
        getattr(exc, "after_rollback", lambda: None)()
        return error_response(exc)
    if isinstance(exc, drf.APIException):
        response = error_response(from_drf(exc))
        if isinstance(exc, drf.Throttled) and exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response

    if isinstance(exc, RequestDataTooBig):
        return error_response(RequestTooLarge())
    request = context.get("request")
    if database_unavailable(exc):
        log.warning(
            "Database unavailable in %s %s: %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc,
        )
        response = error_response(ServiceUnavailable())
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        log.exception(
            "Unexpected error in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?")
        )
        response = error_response(InternalError())
    response._has_been_logged = True  # logged once, here, with the traceback and request ID
    return response


def json_error(error: EngineError) -> JsonResponse:
    """The envelope for plain Django views (404 catch-all under /api/)."""
    return error_response(error, response_class=JsonResponse)
