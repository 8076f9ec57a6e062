"""Incoming webhooks: check a request against its endpoint (authentication, filters) and map it
to one event (action, customer, attributes). No database writes and no engine call here: the view
(webhooks.api) logs the request and registers the event.

Expressions see `body` (the parsed JSON or form body) and `headers` (lower-case names; `-` also
reachable as `_`, so `headers.x_shop_id` and `headers["x-shop-id"]` are the same)."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from loyalty import expressions
from loyalty.errors import EngineError, ValidationError

from . import secrets
from .choices import FilterMode, IncomingAuth

# Request headers never written to the log (credentials).
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "webhook-signature"})


class HookAuthFailed(EngineError):
    code = 140130
    status = 401
    type = "UnauthorizedException"
    default_message = "The webhook request is not authenticated."


class HookBodyError(ValidationError):
    code = 140131
    default_message = "The webhook body cannot be read."


class HookMappingError(ValidationError):
    code = 140132
    default_message = "The webhook's mapping failed for this request."


@dataclass
class Mapped:
    action: str
    customer: str
    data: dict = field(default_factory=dict)


def header_context(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = value
        out[key.replace("-", "_")] = value
    return out


def authenticate(endpoint, raw: bytes, headers: dict[str, str], body) -> None:
    """Raise HookAuthFailed unless the request carries the endpoint's credentials.

    standard_webhooks: `webhook-id`, `webhook-timestamp` (within 5 minutes: a replayed old request
    fails) and `webhook-signature` checked by the standardwebhooks reference implementation.
    header_hmac: HMAC of the raw body in `auth_header` (hex or base64, optional prefix).
    bearer: `Authorization: Bearer <secret>`. static_token: the secret in the `auth_header`
    header, or in the body attribute `body.<name>` (the reference's token filter)."""
    method = endpoint.auth_method
    if method == IncomingAuth.NONE:
        return
    secret = secrets.decrypt(endpoint.secret_encrypted)
    if not secret:
        raise HookAuthFailed("The endpoint has no secret set.")
    lower = {k.lower(): v for k, v in headers.items()}
    if method == IncomingAuth.STANDARD_WEBHOOKS:
        try:
            Webhook(secret).verify(raw, lower, json_parse=False)
        except WebhookVerificationError as error:
            raise HookAuthFailed(f"Standard Webhooks signature: {error}.") from None
        except (ValueError, TypeError, UnicodeDecodeError):  # malformed header values
            raise HookAuthFailed("Standard Webhooks signature: malformed headers.") from None
        return
    if method == IncomingAuth.HEADER_HMAC:
        given = lower.get(endpoint.auth_header.lower(), "")
        if endpoint.hmac_prefix:
            if not given.startswith(endpoint.hmac_prefix):
                raise HookAuthFailed(f"The {endpoint.auth_header} header is missing or malformed.")
            given = given[len(endpoint.hmac_prefix) :]
        digest = hmac.new(secret.encode(), raw, endpoint.hmac_algorithm).digest()
        expected = digest.hex() if endpoint.hmac_encoding == "hex" else base64.b64encode(digest).decode()
        if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise HookAuthFailed(f"The {endpoint.auth_header} signature does not match.")
        return
    if method == IncomingAuth.BEARER:
        given = lower.get("authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), secret.encode()):
            raise HookAuthFailed("The bearer token is missing or wrong.")
        return
    if method == IncomingAuth.STATIC_TOKEN:
        where = endpoint.auth_header
        if where.startswith("body."):
            given = body.get(where[5:]) if isinstance(body, dict) else None
        else:
            given = lower.get(where.lower())
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
            raise HookAuthFailed(f"The token in {where} is missing or wrong.")
        return
    raise HookAuthFailed(f"Unknown authentication method {method!r}.")


def context(body, headers: dict[str, str]) -> dict:
    return {"body": body, "headers": header_context(headers)}


def passes_filters(endpoint, ctx: dict) -> bool:
    """The endpoint's filters (expressions) on this request: all of them, or any, must be true.
    A filter that cannot be evaluated counts as not matching."""
    if not endpoint.filters:
        return True
    results = []
    for text in endpoint.filters:
        try:
            results.append(bool(expressions.evaluate(text, ctx)))
        except expressions.ExpressionError:
            results.append(False)
    return any(results) if endpoint.filter_mode == FilterMode.ANY else all(results)


def map_request(endpoint, ctx: dict) -> Mapped:
    """The event this request becomes; HookMappingError naming the attribute whose expression
    failed or gave no customer."""
    try:
        customer = expressions.evaluate(endpoint.customer_expression, ctx)
    except expressions.ExpressionError as error:
        raise HookMappingError(f"customer: {error.message}", field="customer") from None
    if customer is None or isinstance(customer, (dict, list, bool)) or str(customer).strip() == "":
        raise HookMappingError(
            f"The customer expression {endpoint.customer_expression!r} gave no customer ID.", field="customer"
        )
    data = {}
    for name, text in (endpoint.attributes or {}).items():
        try:
            value = expressions.evaluate(text, ctx)
        except expressions.ExpressionError as error:
            raise HookMappingError(f"{name}: {error.message}", field=f"data.{name}") from None
        if value is not None:
            data[name] = value
    return Mapped(action=endpoint.action, customer=str(customer).strip(), data=data)


def loggable_headers(headers: dict[str, str], endpoint) -> dict[str, str]:
    """The request headers without credentials (and without the endpoint's token header)."""
    hidden = set(SECRET_HEADERS)
    if endpoint is not None and endpoint.auth_header and not endpoint.auth_header.startswith("body."):
        hidden.add(endpoint.auth_header.lower())
    return {k: ("[hidden]" if k.lower() in hidden else v[:500]) for k, v in list(headers.items())[:100]}
