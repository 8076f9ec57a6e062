"""One HTTP request to a trusted site: the authentication headers, the Standard Webhooks
signature, and a guarded send (SSRF check, timeouts, no redirects followed, response read up to a
cap, a total deadline). Knows nothing about the database: `webhooks.delivery` records the result.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import jwt
import requests
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from .addresses import AddressRefused, check_url
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


def auth_headers(site, secret: str, msg_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
    """The headers that authenticate one request to `site` (secret: the decrypted secret)."""
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
    """One keep-alive session per thread (a worker sends many requests to few sites)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address check must hold
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
        check_url(url)
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
