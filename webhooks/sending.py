"""One HTTP request to a trusted site: the authentication headers (Basic, bearer, JWT, AWS
Signature Version 4 / Escher, OAuth 2.0 client credentials, the Standard Webhooks signature), and a
guarded send (SSRF check at connection time on the resolved and pinned address, timeouts, no
redirects followed, response read up to a cap, a total deadline). Knows nothing about the
database: `webhooks.delivery` records the result.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import jwt
import requests
from django.conf import settings
from escherauth import Escher, EscherException
from standardwebhooks.webhooks import Webhook

from .addresses import AddressRefused, PinnedAdapter, check_scheme
from .choices import AuthMethod, ContentType

USER_AGENT = "loyalty-engine-webhooks/1"


class SendRefused(Exception):
    """The request was not sent (bad path, refused address, body that cannot be encoded)."""


@dataclass
class SendResult:
    url: str
    status_code: int | None = None
    response: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def join_url(base: str, path: str) -> str:
    """The site URL with a path below it; refuses a path that leaves the site (another host, a
    scheme, `//`, `..`) — only trusted sites can be called."""
    path = (path or "").strip()
    if not path:
        return base
    if "://" in path or path.startswith("//") or "\\" in path or any(c in path for c in "\r\n\t\x00 "):
        raise SendRefused(f"The path {path[:100]!r} is not a path below the site's URL.")
    if any(segment == ".." for segment in path.split("?")[0].split("/")):
        raise SendRefused("The path may not contain '..'.")
    url = urljoin(base if base.endswith("/") else base + "/", path.lstrip("/"))
    if urlsplit(url).netloc != urlsplit(base).netloc:
        raise SendRefused("The path leads to another host.")
    return url


def sign_standard(secret: str, msg_id: str, timestamp: dt.datetime, body: str) -> str:
    """The `webhook-signature` header value (the standardwebhooks reference implementation)."""
    return Webhook(secret).sign(msg_id, timestamp, body)


def host_header(url: str) -> str:
    """The Host header requests sends for `url` (the port only when not the scheme's default)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def sign_aws(
    *,
    method: str,
    url: str,
    body: str,
    region: str,
    service: str,
    key_id: str,
    secret: str,
    now: dt.datetime,
    algorithm_prefix: str = "",
    vendor_key: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """AWS Signature Version 4 headers for one request, computed by the `escherauth` package
    (Escher is SigV4 with a configurable algorithm prefix and vendor key — the reference's
    "Algorithm prefix" and "Vendor key" fields).

    Defaults (both empty): prefix and vendor `AWS4`, i.e. plain SigV4: `Authorization:
    AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request,
    SignedHeaders=..., Signature=...` and `X-Amz-Date`. Another vendor key V (e.g. `EMS`) follows
    Escher: headers `X-V-Auth` and `X-V-Date`, scope `<region>/<service>/v_request`, algorithm
    `<prefix>-HMAC-SHA256`. Signed: host, the date header and every header in `headers` (sent
    as given). The path is signed as sent (single URI encoding, as S3 and Escher services expect).
    Returns the headers to add (Host included, so the signed host is the sent one); raises
    SendRefused for a missing key id or secret."""
    prefix = algorithm_prefix or "AWS4"
    vendor = vendor_key or "AWS4"
    if vendor.upper() == "AWS4":
        auth_name, date_name = "Authorization", "X-Amz-Date"
    else:
        auth_name, date_name = f"X-{vendor}-Auth", f"X-{vendor}-Date"
    host = host_header(url)
    prepared = requests.Request(method, url).prepare()  # the path and query as requests sends them
    given = {"Host": host, **(headers or {})}
    escher = Escher(
        key_id,
        secret,
        f"{region}/{service}/{vendor.lower()}_request",
        {
            "algo_prefix": prefix,
            "vendor_key": vendor,
            "auth_header_name": auth_name,
            "date_header_name": date_name,
            "current_time": now.astimezone(dt.UTC),
        },
    )
    request = {
        "method": method,
        "url": prepared.path_url,
        "host": host,
        "headers": [[k, v] for k, v in given.items()],
        "body": body,
    }
    try:
        signed = escher.sign_request(request, [k.lower() for k in given if k.lower() != "host"])
    except EscherException as error:
        raise SendRefused(f"AWS signature: {error}.") from None
    return {**given, **{k: v for k, v in signed["headers"] if k in (auth_name, date_name)}}


# OAuth 2.0 client-credentials tokens (RFC 6749 §4.4), kept in process memory until shortly before
# they expire: each worker process asks the token URL once per token lifetime.
_tokens: dict[tuple, tuple[str, float]] = {}
_tokens_lock = threading.Lock()
TOKEN_MARGIN_SECONDS = 30


def _token_key(site, secret: str) -> tuple:
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return (site.pk, site.oauth_token_url, site.username, site.oauth_scope, digest)


def forget_token(site, secret: str) -> None:
    """Drop the cached token (the site answered 401: it may have been revoked)."""
    with _tokens_lock:
        _tokens.pop(_token_key(site, secret), None)


def oauth_token(site, secret: str) -> str:
    """The site's access token: cached while valid, else fetched from its token URL with
    `grant_type=client_credentials` (and `scope` when set), the client authenticated by HTTP Basic
    (RFC 6749 §2.3.1). The token URL passes the same SSRF guard as the site. SendRefused with the
    token endpoint's answer when no token comes back (the delivery is retried)."""
    key = _token_key(site, secret)
    now = time.time()
    with _tokens_lock:
        cached = _tokens.get(key)
    if cached and cached[1] > now:
        return cached[0]
    try:
        check_scheme(site.oauth_token_url)
    except AddressRefused as error:
        raise SendRefused(f"OAuth token URL: {error}") from None
    data = {"grant_type": "client_credentials"}
    if site.oauth_scope:
        data["scope"] = site.oauth_scope
    timeout = float(site.timeout_seconds)
    try:
        with _session().post(
            site.oauth_token_url,
            data=data,
            auth=(site.username, secret),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=(min(timeout, 10), timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            text, _cut = _read_capped(response, time.monotonic() + timeout)
            status = response.status_code
    except AddressRefused as error:
        raise SendRefused(f"OAuth token URL: {error}") from None
    except (requests.RequestException, _DeadlinePassed) as error:
        raise SendRefused(f"OAuth token request failed: {type(error).__name__}: {str(error)[:300]}") from None
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(token, str) or not token:
        raise SendRefused(f"OAuth token endpoint answered HTTP {status}: {text[:300]}")
    lifetime = answer.get("expires_in", 3600)
    lifetime = lifetime if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600
    with _tokens_lock:
        _tokens[key] = (token, now + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2))
    return token


def auth_headers(
    site, secret: str, msg_id: str, timestamp: dt.datetime, body: str, url: str = ""
) -> dict[str, str]:
    """The headers that authenticate one request to `site` (secret: the decrypted secret; url:
    the full URL, which AWS signs). SendRefused when they cannot be made (OAuth token refused)."""
    method = site.auth_method
    if method == AuthMethod.BASIC:
        token = base64.b64encode(f"{site.username}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if method == AuthMethod.BEARER:
        return {"Authorization": f"Bearer {secret}"}
    if method == AuthMethod.JWT:
        now = int(timestamp.timestamp())
        claims = {**(site.jwt_claims or {}), "iat": now, "exp": now + 300, "jti": msg_id}
        return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm=site.jwt_algorithm)}"}
    if method == AuthMethod.STANDARD_WEBHOOKS:
        return {"webhook-signature": sign_standard(secret, msg_id, timestamp, body)}
    if method == AuthMethod.AWS:
        return sign_aws(
            method="POST",
            url=url or site.url,
            body=body,
            region=site.aws_region,
            service=site.aws_service,
            key_id=site.username,
            secret=secret,
            now=timestamp,
            algorithm_prefix=site.aws_algorithm_prefix,
            vendor_key=site.aws_vendor_key,
            headers={"Content-Type": site.content_type},
        )
    if method == AuthMethod.OAUTH:
        return {"Authorization": f"Bearer {oauth_token(site, secret)}"}
    return {}


def encode_body(site, body: str) -> str:
    """The body as sent: JSON as rendered (checked), or a form encoding of a rendered JSON object."""
    try:
        value = json.loads(body) if body else {}
    except ValueError as error:
        raise SendRefused(f"The payload is not valid JSON: {error}") from None
    if site.content_type == ContentType.FORM:
        if not isinstance(value, dict):
            raise SendRefused("A form-encoded site needs a payload that is a JSON object.")
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()})
    return body


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread (a worker sends many requests to few sites); every new
    connection is SSRF-checked on the address it connects to (addresses.PinnedAdapter)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address check must hold
        adapter = PinnedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def max_response_bytes() -> int:
    return getattr(settings, "WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024)


def post(url: str, body: str, headers: dict[str, str], timeout: float) -> SendResult:
    """POST `body`; never raises for what the site does (timeouts, resets, redirects, huge or
    slow answers): the result says what happened."""
    result = SendResult(url=url)
    started = time.monotonic()
    try:
        check_scheme(url)
    except AddressRefused as error:
        result.error = str(error)[:500]
        return result
    deadline = started + timeout
    try:
        with _session().post(
            url,
            data=body.encode(),
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=(min(timeout, 10), timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            result.status_code = response.status_code
            result.response, cut = _read_capped(response, deadline)
            if cut:
                result.response += f"\n[response cut at {max_response_bytes()} bytes]"
            if 300 <= response.status_code < 400:
                location = response.headers.get("Location", "")[:200]
                result.error = (
                    f"Redirect to {location!r} not followed; set the site's URL to the final address."
                )
    except AddressRefused as error:  # the connection's own check (addresses.PinnedAdapter)
        result.error = str(error)[:500]
    except requests.Timeout:
        result.error = f"Timed out after {timeout:g} s."
    except requests.RequestException as error:
        result.error = f"{type(error).__name__}: {str(error)[:400]}"
    except _DeadlinePassed:
        result.error = f"The response took longer than {timeout:g} s."
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


class _DeadlinePassed(Exception):
    pass


def _read_capped(response, deadline: float) -> tuple[str, bool]:
    """At most max_response_bytes() of the body, within the deadline; (text, was it cut)."""
    limit = max_response_bytes()
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=16384):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
        if time.monotonic() > deadline:
            raise _DeadlinePassed()
    data = b"".join(chunks)
    text = data[:limit].decode("utf-8", errors="replace").replace("\x00", "")
    return text, size > limit
