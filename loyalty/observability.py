"""Request IDs, error pages and log redaction.

- `RequestIdMiddleware` (outermost): every request gets an ID — the caller's `X-Request-ID` when it
  is a plain token of at most 64 characters, else a new one — kept in a context variable for the
  request's duration, sent back as the `X-Request-ID` response header, put on every log record
  (`RequestIdFilter`, format field `%(request_id)s`) and in every JSON error envelope
  (`loyalty.api.errors.envelope`, field `request_id`).
- `loyalty.console.pages.server_error` (handler500): Django calls it for any exception no view handled — in middleware,
  in a view, while rendering — after logging it once on `django.request` with its traceback.
  Under /api/ the answer is the JSON envelope, elsewhere the HTML page, both with the request ID;
  a dead database connection is 503 with `Retry-After` instead of 500.
- `redact_query` and `RedactingGunicornLogger`: query strings in access logs keep only values of
  known non-personal parameters; everything else (e-mail, names, `api_key`, signatures, custom
  attributes) is logged as `[redacted]`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from urllib.parse import parse_qsl, quote

from django.db import DatabaseError, InterfaceError, OperationalError, connections

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RETRY_AFTER_SECONDS = 5


def current_request_id() -> str | None:
    value = request_id_var.get()
    return None if value == "-" else value


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _TOKEN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (a `-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def database_unavailable(exc: BaseException | None) -> bool:
    """A lost or refused database connection (retryable), as opposed to a bug. Closes the
    connections that no longer work, so this process's next request opens a fresh one (Django's
    request-start health check does the same; this also covers code that never sent that signal)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    for conn in connections.all(initialized_only=True):
        try:
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        except DatabaseError:
            pass
    return True


# Query parameters whose values name nobody and are worth keeping in an access log.
SAFE_QUERY_PARAMETERS = frozenset(
    {
        "page",
        "per_page",
        "limit",
        "offset",
        "cursor",
        "after",
        "before",
        "sort",
        "ordering",
        "order",
        "action",
        "actions",
        "status",
        "source",
        "dry_run",
        "from",
        "to",
        "date_from",
        "date_to",
        "environment",
        "columns",
        "format",
        "type",
        "account",
        "tab",
        "next",
    }
)
REDACTED = "[redacted]"


def redact_query(query: str) -> str:
    """`a=1&email=x@y&api_key=k` -> `a=1&email=[redacted]&api_key=[redacted]` (unknown names too)."""
    if not query:
        return ""
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        shown = value if name.lower() in SAFE_QUERY_PARAMETERS else REDACTED
        parts.append(f"{quote(name, safe='')}={quote(shown, safe='[]')}")
    return "&".join(parts)


def redact_url(url: str) -> str:
    path, _, query = url.partition("?")
    return f"{path}?{redact_query(query)}" if query else path


try:  # gunicorn is a dependency of `make serve`; importing this module must not need it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]


class RedactingGunicornLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's access log with the query string redacted in `%(r)s` and `%(q)s`
    (gunicorn.conf.py sets `logger_class`)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        query = environ.get("QUERY_STRING", "")
        if query:
            redacted = redact_query(query)
            atoms["q"] = redacted
            atoms["r"] = atoms["r"].replace(query, redacted)
        return atoms
