"""Request authentication: Escher signatures (ANTAVO-HMAC-SHA256) and the unsigned test form.

A signed request carries, as in the reference documents:

    Authorization: ANTAVO-HMAC-SHA256 Credential=KEY/20181207/test/api/antavo_request,
                   SignedHeaders=date;host, Signature=77a2...
    Date: Fri, 07 Dec 2018 10:00:00 GMT

The `escherauth` package parses the header and canonicalizes the request; the checks are done here
one by one (rather than with `Escher.authenticate`) so that each failure gets its own error code,
and so that the signature is compared in constant time (`hmac.compare_digest`).

Verification runs on every API request, so its fixed costs are paid once: dates are parsed once
per distinct header value, the signing key (an HMAC chain over the secret, the day and the scope)
once per secret and day, and only the signed headers are canonicalized. `sign()` (the client side,
escherauth's own code) is the reference the tests check this against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from functools import lru_cache

from django.conf import settings
from django.utils.encoding import escape_uri_path
from escherauth import AuthParams, Escher, EscherException, EscherRequest
from rest_framework.authentication import BaseAuthentication

from loyalty import clock

from . import errors
from .models import ApiKey

ALGO_PREFIX = "ANTAVO"
VENDOR_KEY = "Antavo"
AUTH_HEADER = "Authorization"
DATE_HEADER = "Date"
CLOCK_SKEW_SECONDS = 300
MANDATORY_SIGNED_HEADERS = ("date", "host")
# The hex SHA-256 of the body's bytes (a name without digits: Escher's SignedHeaders allows
# none). Optional for UTF-8 bodies (the signature covers them exactly); required, and signed,
# for any other body (see authenticate_signed).
CONTENT_HASH_HEADER = "x-content-hash"


def credential_scope() -> str:
    """What a client puts after the date in the Credential (the reference's example scope)."""
    return getattr(settings, "API_CREDENTIAL_SCOPE", "test/api/antavo_request")


def escher_options(**extra) -> dict:
    return {
        "algo_prefix": ALGO_PREFIX,
        "vendor_key": VENDOR_KEY,
        "auth_header_name": AUTH_HEADER,
        "date_header_name": DATE_HEADER,
        "clock_skew": CLOCK_SKEW_SECONDS,
        **extra,
    }


def request_uri(request) -> str:
    """The path and query as sent: gunicorn passes the raw URI; otherwise re-quote the path."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    query = request.META.get("QUERY_STRING", "")
    path = escape_uri_path(request.path)
    return f"{path}?{query}" if query else path


KEY_CACHE_SECONDS = 5
_key_cache: dict[str, tuple[float, ApiKey]] = {}


def forget_key(key_id: str) -> None:
    _key_cache.pop(key_id, None)


def find_key(key_id: str) -> ApiKey:
    """The key named in a request. Kept in process memory for 5 seconds (a query per request
    otherwise): rotating or revoking a key acts at once in the process that does it and within
    5 seconds in every other worker."""
    cached = _key_cache.get(key_id)
    api_key: ApiKey | None
    if cached is not None and cached[0] > time.monotonic():
        api_key = cached[1]
    else:
        api_key = ApiKey.objects.filter(key=key_id).first()
        if api_key is not None:
            if len(_key_cache) > 10000:
                _key_cache.clear()
            _key_cache[key_id] = (time.monotonic() + KEY_CACHE_SECONDS, api_key)
    if api_key is None:
        raise errors.UnknownApiKey(f"Unknown API key {key_id[:64]!r}.")
    if api_key.revoked:
        raise errors.RevokedApiKey()
    return api_key


HASHES = {"SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


@lru_cache(maxsize=8)
def _canonicalizer(scope: str, hash_algo: str) -> Escher:
    """An Escher instance for canonicalizing and building the string to sign (it holds no key:
    those methods use only the algorithm and the scope, and keep no state)."""
    return Escher("-", "-", scope, escher_options(hash_algo=hash_algo))


@lru_cache(maxsize=512)
def _signing_key(secret: str, day: str, scope: str, hash_algo: str) -> bytes:
    """Escher's key derivation (as `Escher.generate_signature`): HMAC(prefix + secret, day), then
    HMAC with each part of the scope. The same for every request of a key on one day."""
    digest = HASHES[hash_algo]
    key = hmac.new((ALGO_PREFIX + secret).encode("utf-8"), day.encode("utf-8"), digest).digest()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode("utf-8"), digest).digest()
    return key


@lru_cache(maxsize=256)
def _request_date(value: str) -> dt.datetime:
    """The Date header as escherauth parses it (strptime, twice for the HTTP form: costly per request)."""
    return AuthParams({"date": value}).get_request_date()


@lru_cache(maxsize=64)
def _credential_date(credentials: str) -> dt.datetime:
    return AuthParams({"credentials": credentials}).get_credential_date()


def _meta_header(meta, name: str) -> str | None:
    """A request header by its lower-case name, as the client sent it (WSGI keeps Content-Type and
    Content-Length outside the HTTP_ names)."""
    if name in ("content-type", "content-length"):
        return meta.get(name.upper().replace("-", "_")) or None
    return meta.get("HTTP_" + name.upper().replace("-", "_"))


def authenticate_signed(request) -> ApiKey:
    meta = request.META
    auth_value = meta.get("HTTP_AUTHORIZATION")
    date_value = meta.get("HTTP_DATE")
    head = [["authorization", auth_value]] + ([["date", date_value]] if date_value is not None else [])
    try:
        params = AuthParams.from_headers(head, ALGO_PREFIX, DATE_HEADER, AUTH_HEADER)
        algorithm = params.get_algo_data()
        key_id = params.get_credential_key()
        scope = params.get_credential_scope()
        signed_headers = params.get_signed_headers()
        signature = params.get("signature")
    except (EscherException, TypeError):
        raise errors.MalformedAuthorization(
            "The Authorization header is malformed; expected "
            "'ANTAVO-HMAC-SHA256 Credential=KEY/YYYYMMDD/SCOPE, SignedHeaders=date;host, Signature=HEX'."
        )
    hash_algo = algorithm[2].upper()
    if algorithm[0] != ALGO_PREFIX or hash_algo not in HASHES:
        raise errors.MalformedAuthorization("Only ANTAVO-HMAC-SHA256 and ANTAVO-HMAC-SHA512 are accepted.")
    api_key = find_key(key_id)
    # The signed headers, each once, as [name, value] pairs (what Escher canonicalizes: it skips
    # every other header).
    headers = []
    for name in dict.fromkeys(signed_headers):
        value = _meta_header(meta, name)
        if value is not None:
            headers.append([name, value])
    for header in MANDATORY_SIGNED_HEADERS:
        if header not in signed_headers:
            raise errors.MissingSignedHeader(f"The {header} header must be signed.")
        if not any(name == header for name, _ in headers):
            raise errors.MissingSignedHeader(f"The {header} header is missing.")
    try:
        request_date = _request_date(params.get("date"))
        credential_date = _credential_date(params.get("credentials"))
    except (EscherException, ValueError, TypeError):
        raise errors.MalformedAuthorization("The Date header or the credential date cannot be parsed.")
    if request_date.date() != credential_date.date():
        raise errors.DateOutOfRange("The credential date does not match the Date header.")
    skew = abs((clock.now() - request_date).total_seconds())
    if skew > CLOCK_SKEW_SECONDS:
        raise errors.DateOutOfRange(
            f"The request date is {int(skew)} seconds from the server time; at most {CLOCK_SKEW_SECONDS} are allowed."
        )
    if not hmac.compare_digest(scope, credential_scope()):
        raise errors.BadCredentialScope(f"The credential scope must be {credential_scope()!r}.")
    escher = _canonicalizer(scope, hash_algo)
    raw_body = request.body
    content_hash = _meta_header(meta, CONTENT_HASH_HEADER)
    try:
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        # Escher signs the body as text: bytes that are not UTF-8 (an XLSX upload) decode with
        # replacement characters, so two different files could share a signature. Such a body
        # must be bound to the signature by a signed hash of its bytes (checked below).
        body = raw_body.decode("utf-8", errors="replace")
        if content_hash is None or CONTENT_HASH_HEADER not in signed_headers:
            raise errors.MissingSignedHeader(
                "A body that is not UTF-8 text (a binary upload such as XLSX) must be covered by a "
                "signed X-Content-Hash header: the hex SHA-256 of the body's bytes."
            ) from None
    try:
        escher_request = EscherRequest(
            {"method": request.method, "url": request_uri(request), "headers": headers, "body": body}
        )
        string_to_sign = escher.get_string_to_sign(
            escher.canonicalize(escher_request, signed_headers), request_date
        )
    except EscherException as error:  # e.g. a method Escher does not sign
        raise errors.MalformedAuthorization(f"The request cannot be verified: {error}")
    key = _signing_key(api_key.secret, escher.short_date(request_date), scope, hash_algo)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), HASHES[hash_algo]).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise errors.BadSignature()
    if content_hash is not None and CONTENT_HASH_HEADER in signed_headers:
        actual = hashlib.sha256(raw_body).hexdigest()
        if not hmac.compare_digest(content_hash.strip().lower().encode(), actual.encode()):
            raise errors.ContentHashMismatch()
    return api_key


def authenticate_unsigned(request, key_id: str) -> ApiKey:
    api_key = find_key(key_id)
    if not api_key.allow_unsigned:
        raise errors.UnsignedNotAllowed()
    return api_key


def touch(api_key: ApiKey) -> None:
    """Record the key's last use. Called once per rate-limit window (a write per request would
    cost too much)."""
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=clock.now())


class EscherAuthentication(BaseAuthentication):
    """DRF authentication: request.auth is the ApiKey, request.user stays None."""

    def authenticate(self, request):
        django_request = request._request
        if django_request.META.get("HTTP_AUTHORIZATION"):
            api_key = authenticate_signed(django_request)
        elif django_request.GET.get("api_key"):
            api_key = authenticate_unsigned(django_request, django_request.GET["api_key"])
        else:
            raise errors.MissingAuthorization()
        return (None, api_key)

    def authenticate_header(self, request):
        return ALGO_PREFIX + "-HMAC-SHA256"


def sign(
    method: str,
    url: str,
    *,
    key: str,
    secret: str,
    host: str,
    body: str = "",
    headers=None,
    when: dt.datetime | None = None,
    signed_headers=(),
) -> list[list[str]]:
    """Sign a request the way clients do; returns the headers to send. Used by tests and the bench.
    `headers` ([name, value] pairs) named in `signed_headers` are signed too (e.g.
    x-content-hash for a binary body, which is passed decoded as the server reads it)."""
    options = escher_options(current_time=when) if when else escher_options()
    escher = Escher(key, secret, credential_scope(), options)
    request = {"method": method, "url": url, "headers": [["host", host], *(headers or [])], "body": body}
    signed = escher.sign_request(request, headers_to_sign=["date", "host", *signed_headers])
    return signed["headers"]
