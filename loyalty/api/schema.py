"""Pieces of the OpenAPI description shared by every endpoint: the error envelope and the
responses each kind of endpoint can give besides its success."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    type = serializers.CharField(help_text="BadRequestException, NotFoundException, ...")
    code = serializers.IntegerField(help_text="stable error code (docs/api.md)")
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="the offending parameter, or null")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


COMMON = {
    400: _error("Invalid request (validation error, missing parameter, malformed body)"),
    401: _error("Authentication failed: missing header, unknown or revoked key, bad signature, skewed date"),
    403: _error("The key lacks the endpoint's scope, or the customer's status forbids the action"),
    404: _error("Unknown customer or endpoint"),
    405: _error("Method not allowed"),
    413: _error("Request body too large"),
    429: _error("Rate limit exceeded (see Retry-After)"),
}
WRITE = {
    **COMMON,
    409: _error("Conflict, or a request with the same Idempotency-Key is still in progress"),
    415: _error("Content type other than JSON or form-encoded"),
    422: _error(
        "A business rule forbids it (e.g. insufficient points), or Idempotency-Key reused with another body"
    ),
}


def reads(success) -> dict:
    return {200: success, **COMMON}


def writes(success) -> dict:
    return {200: success, **WRITE}


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retries with the same key return the first response (Idempotent-Replayed: true).",
)
CUSTOMER_REF = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="customer ID, or `field:value` for an external ID"
)
ENVELOPE_PARAMETERS = [
    OpenApiParameter("limit", int, description="page size, 1 to 500 (default 50)"),
    OpenApiParameter("offset", int, description="rows to skip (after the cursor, if any)"),
    OpenApiParameter("order", str, enum=["asc", "desc"]),
    OpenApiParameter("after", str, description="cursor: what `next` carries"),
    OpenApiParameter("before", str, description="cursor: what `prev` carries"),
]

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="page size, 1 to 500 (default 50)"),
    OpenApiParameter("after", str, description="the `next` cursor of the previous page"),
]


def strip_optional_slash(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: URLs accept an optional trailing slash (`events/?$`);
    document them without it, as the reference writes them. Registered in SPECTACULAR_SETTINGS
    (PREPROCESSING_HOOKS), so /api/schema/ and `manage.py spectacular` give the same paths."""
    return [
        (path.rstrip("/") if path.count("/") > 1 else path, regex, method, callback)
        for path, regex, method, callback in endpoints
    ]


class EscherAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.api.auth.EscherAuthentication"
    name = "escher"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Escher request signing: `ANTAVO-HMAC-SHA256 Credential=KEY/YYYYMMDD/test/api/antavo_request, "
                "SignedHeaders=date;host, Signature=...` with a `Date` header (see docs/api.md). Keys created "
                "with unsigned access allowed may instead send `?api_key=KEY` (testing only)."
            ),
        }


def creates(success) -> dict:
    """A write answering 201 Created (cards, referral codes)."""
    return {201: success, **WRITE}


def csv_read() -> dict:
    """A read answering a CSV file (exports)."""
    return {(200, "text/csv"): OpenApiResponse(str, description="CSV, header line first"), **COMMON}
