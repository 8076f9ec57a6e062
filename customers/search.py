"""The customer list's search box: any part of the name, e-mail, customer ID or an
external ID, case- and accent-insensitive ("simon" finds "Simon", "Simón" and "SIMONE";
"jozsef" finds "József").

PostgreSQL: the normalized text `loyalty_customer_search(first_name, last_name, email,
customer_id)` (lower(unaccent(...)), customers migration 0007) contains the normalized query,
answered from GIN trigram indexes; external IDs likewise from `loyalty_search_text(value)`.
SQLite (development, tests): case-insensitive LIKE on each column (ASCII case only, no accent
folding) — the plain fallback.
"""

from __future__ import annotations

import unicodedata

from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField

from .models import ExternalId

MAX_QUERY = 200


class CustomerSearchText(Func):
    function = "loyalty_customer_search"
    output_field = TextField()


class SearchText(Func):
    function = "loyalty_search_text"
    output_field = TextField()


def fold(text: str) -> str:
    """Python's approximation of lower(unaccent(text)) (SQLite and tests)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search(qs: QuerySet, query: str, environment: str | None = None) -> QuerySet:
    """`qs` narrowed to customers matching `query` anywhere in name, e-mail, ID or external ID."""
    text = " ".join(query.split())[:MAX_QUERY]
    if not text:
        return qs
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT loyalty_search_text(%s)", [text])
            needle = cursor.fetchone()[0]
        external = ExternalId.objects.alias(search=SearchText(F("value"))).filter(search__contains=needle)
        if environment:
            external = external.filter(environment=environment)
        # One id set from two indexes: an OR of the trigram match and the external-ID subquery
        # makes PostgreSQL compute the search text on every customer (seconds at 1M rows); a
        # UNION lets each branch use its own GIN index.
        own = (
            qs.model.objects.alias(
                search=CustomerSearchText(F("first_name"), F("last_name"), F("email"), F("customer_id"))
            )
            .filter(search__contains=needle)
            .values("pk")
        )
        return qs.filter(pk__in=own.union(external.values("customer_id")))
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
    return qs.filter(q | Q(pk__in=external.values("customer_id")))
