"""`reverse()` for the URLs a page builds many times with different values (profile tabs, header
buttons, rows of a table).

Django's reverse() searches the URL patterns on every call (about 40 µs each; a profile page
builds 50–80 URLs). Here each URL name is reversed once per process (per script prefix and
URLconf) with placeholder values, and later calls fill the placeholders in: the same string
reverse() returns for values it would accept unquoted. Other values (empty, with characters
reverse() would quote or refuse) go through reverse() itself, so the result and its errors
(NoReverseMatch) are always Django's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_PLAIN = re.compile(r"[A-Za-z0-9_-]+\Z")  # kept as they are by reverse()'s quoting
_DIGITS = re.compile(r"[0-9]+\Z")
_MARK = "918273645{}564738291"  # digits: accepted by the str, int, slug and path converters


@lru_cache(maxsize=512)
def _template(url_name: str, names: tuple[str, ...], prefix: str, urlconf) -> tuple | None:
    """(pieces between the placeholders, placeholder order, per name: digits only?) or None."""
    marks = {name: _MARK.format(i) for i, name in enumerate(names)}
    try:
        url = reverse(url_name, kwargs=marks, urlconf=urlconf)
    except NoReverseMatch:
        return None
    if not names:
        return (url,), (), {}
    digits_only = {}
    for name in names:
        try:
            reverse(url_name, kwargs={**marks, name: "z"}, urlconf=urlconf)
            digits_only[name] = False
        except NoReverseMatch:
            digits_only[name] = True
    order = sorted(names, key=lambda name: url.find(marks[name]))
    pattern = "|".join(re.escape(marks[name]) for name in order)
    pieces = re.split(pattern, url)
    if len(pieces) != len(names) + 1 or any(url.count(marks[name]) != 1 for name in names):
        return None
    return tuple(pieces), tuple(order), digits_only


def fast_reverse(url_name: str, **kwargs) -> str:
    """reverse(url_name, kwargs=kwargs), from a per-process template of the URL."""
    return reverser()(url_name, **kwargs)


def reverser() -> Callable[..., str]:
    """A fast_reverse for the URLs of one page: the script prefix and URLconf (thread-local
    look-ups) are read once, here."""
    prefix, urlconf = get_script_prefix(), get_urlconf()

    def fill(url_name: str, **kwargs) -> str:
        template = _template(url_name, tuple(sorted(kwargs)), prefix, urlconf)
        if template is None:
            return reverse(url_name, kwargs=kwargs)
        pieces, order, digits_only = template
        if not order:
            return pieces[0]
        parts = [pieces[0]]
        for name, piece in zip(order, pieces[1:], strict=True):
            value = kwargs[name]
            text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
            if not (_DIGITS if digits_only[name] else _PLAIN).match(text):
                return reverse(url_name, kwargs=kwargs)
            parts.append(text)
            parts.append(piece)
        return "".join(parts)

    return fill
