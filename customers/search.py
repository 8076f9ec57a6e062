"""The customer list's search box: any part of the name, e-mail, customer ID or an
external ID, case- and accent-insensitive ("simon" finds "Simon", "Simón" and "SIMONE";
"jozsef" finds "József").

PostgreSQL: the normalized text `loyalty_customer_search(first_name, last_name, email,
customer_id)` (lower(unaccent(...)), customers migration 0007) contains the normalized query,
answered from GIN trigram indexes; external IDs likewise from `loyalty_search_text(value)`.
SQLite (development, tests): case-insensitive LIKE on each column (ASCII case only, no accent
folding) — the plain fallback.

Cost at a million customers (PostgreSQL, `match()`): a trigram index finds a rare text cheaply,
but a common one ("anna", "smith", "example.com") matches tens of thousands of rows or all of
them, and fetching and sorting every match is what made a page cost 0.2-0.5 s. So a search first
looks at the SAMPLE newest customers: when COMMON or more of them match, the text is common and
the list walks its ordered index and tests each row (it meets a page's worth of matches within a
few thousand rows). Otherwise the trigram indexes collect at most CAP + 1 matching IDs (no ORDER
BY, so the index scan stops there): up to CAP, the list is those IDs; more, the ordered walk
again. A common text gets no count (`Match.overflow`): counting it would visit every match.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat

from .models import ExternalId

MAX_QUERY = 200
SAMPLE = 2000  # newest customers tested first
COMMON = 20  # matches among them (1 %) that make a text common: walk the ordered index
CAP = 5000  # most IDs collected from the trigram indexes
FREQUENT_SHARE = 0.05  # a trigram in more of the sampled texts is left out of the index condition
RARE_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class CustomerSearchText(Func):
    function = "loyalty_customer_search"
    output_field = TextField()


class SearchText(Func):
    function = "loyalty_search_text"
    output_field = TextField()


@dataclass
class Match:
    """`queryset` narrowed to the matches; `overflow`: more than CAP customers match (or the text
    is common), so the list shows no count."""

    queryset: QuerySet
    overflow: bool = False


def fold(text: str) -> str:
    """Python's approximation of lower(unaccent(text)) (SQLite and tests)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search(qs: QuerySet, query: str, environment: str | None = None) -> QuerySet:
    """`qs` narrowed to customers matching `query` anywhere in name, e-mail, ID or external ID."""
    return match(qs, query, environment).queryset


def match(qs: QuerySet, query: str, environment: str | None = None) -> Match:
    """`search` with whether the match set overflowed (see the module docstring)."""
    text = " ".join(query.split())[:MAX_QUERY]
    if not text:
        return Match(qs)
    if connection.vendor == "postgresql":
        return _match_postgresql(qs, text, environment)
    q = (
        Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
        | Q(email__icontains=text)
        | Q(customer_id__icontains=text)
    )
    first, _, last = text.partition(" ")
    if last:
        q |= Q(first_name__icontains=first, last_name__icontains=last)
    external = ExternalId.objects.filter(value__icontains=text)
    if environment:
        external = external.filter(environment=environment)
    return Match(qs.filter(q | Q(pk__in=external.values("customer_id"))))


def _own_text() -> CustomerSearchText:
    return CustomerSearchText(F("first_name"), F("last_name"), F("email"), F("customer_id"))


def _newest(environment: str | None) -> list[tuple[int, str]]:
    """(id, search text) of the SAMPLE newest customers."""
    where = "WHERE environment = %s" if environment else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, loyalty_customer_search(first_name, last_name, email, customer_id) "
            f"FROM customers_customer {where} ORDER BY id DESC LIMIT %s",
            [*([environment] if environment else []), SAMPLE],
        )
        return cursor.fetchall()


def _rare_windows(needle: str, texts: list[str]) -> list[str]:
    """The needle's three-letter windows (a-z, 0-9: whole trigrams to pg_trgm) that few of the
    sampled texts contain. A trigram in most rows ("exa" of example.com, "000" of padded IDs) makes
    the GIN index decode a posting list of every customer; leaving it out of the index condition
    (the whole needle is still checked on each row found) keeps the index scan small."""
    windows = {
        needle[i : i + 3] for i in range(len(needle) - 2) if RARE_ALPHABET.issuperset(needle[i : i + 3])
    }
    if not windows:
        return []
    counts = {w: sum(w in text for text in texts) for w in windows}
    rare = [w for w in windows if counts[w] <= len(texts) * FREQUENT_SHARE]
    return sorted(rare or [min(windows, key=lambda w: counts[w])])


def _trigram_ids(needle: str, windows: list[str], environment: str | None, limit: int) -> list[int]:
    """Up to `limit` IDs of customers whose search text contains `needle`, found through the
    trigram index by `windows` (or the whole needle), no ORDER BY: the heap scan stops at `limit`."""
    like = [f"%{connection.ops.prep_for_like_query(w)}%" for w in windows or [needle]]
    where = " AND ".join(
        ["loyalty_customer_search(first_name, last_name, email, customer_id) LIKE %s"] * len(like)
    )
    if environment:
        where += " AND environment = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM customers_customer WHERE {where} AND "
            "loyalty_customer_search(first_name, last_name, email, customer_id) || '' LIKE %s LIMIT %s",
            [
                *like,
                *([environment] if environment else []),
                f"%{connection.ops.prep_for_like_query(needle)}%",
                limit,
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _match_postgresql(qs: QuerySet, text: str, environment: str | None) -> Match:
    with connection.cursor() as cursor:
        cursor.execute("SELECT loyalty_search_text(%s)", [text])
        needle = cursor.fetchone()[0]
    external = ExternalId.objects.alias(search=SearchText(F("value"))).filter(search__contains=needle)
    if environment:
        external = external.filter(environment=environment)
    external_ids = set(external.values_list("customer_id", flat=True)[: CAP + 1])
    external_part = (
        Q(pk__in=external.values("customer_id")) if len(external_ids) > CAP else Q(pk__in=external_ids)
    )
    newest = _newest(environment)
    sampled = [pk for pk, text in newest if needle in text]
    if len(newest) < SAMPLE:  # every customer there is was looked at
        own_ids: set[int] | None = set(sampled)
    elif len(sampled) >= COMMON:
        own_ids = None  # a common text
    else:
        windows = _rare_windows(needle, [text for _, text in newest])
        found = set(_trigram_ids(needle, windows, environment, CAP + 1))
        own_ids = found if len(found) <= CAP else None
    if own_ids is not None and len(external_ids) <= CAP and len(own_ids | external_ids) <= CAP:
        return Match(qs.filter(pk__in=own_ids | external_ids))
    # Many matches: the text is tested row by row along the list's ordered index. Appending ''
    # keeps the planner off the trigram index (which would fetch and sort every match).
    walked = Concat(_own_text(), Value(""), output_field=TextField())
    return Match(qs.alias(search_walk=walked).filter(Q(search_walk__contains=needle) | external_part), True)
