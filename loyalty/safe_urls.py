"""URL attributes (a customer's `image_url`, an item's `product_url`, ...) hold web addresses only
: a value with a scheme other than http or https — `javascript:`, `data:`,
`vbscript:`, `file:` — is refused wherever it is accepted (API, console, imports: they all pass
the engine), so no page that renders it as a link or image can run it.

Browsers ignore ASCII whitespace and control characters inside a scheme (`java\\tscript:`) and
before it; so does this check.
"""

from __future__ import annotations

import re

from .errors import ValidationError

ALLOWED_SCHEMES = ("http", "https")
_IGNORED = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


def is_safe_url(value: str) -> bool:
    """True for an empty value, a relative or scheme-relative URL, or an http(s) URL."""
    compact = _IGNORED.sub("", value or "").lower()
    match = _SCHEME.match(compact)
    return match is None or match.group(1) in ALLOWED_SCHEMES


def check_url(value: str, field: str) -> str:
    """`value` unchanged, or ValidationError (field `field`) for a dangerous scheme."""
    if not is_safe_url(value):
        raise ValidationError(f"{field.split('.')[-1]} must be an http or https address.", field=field)
    return value
