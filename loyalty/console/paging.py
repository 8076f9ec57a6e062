"""Keyset pagination: pages far into a million rows cost the same as the first page.

The cursor is the primary key of the last (or first) row shown: `?after=<pk>` or `?before=<pk>`;
the sort value of that row is looked up by primary key, so URLs stay short and bookmarkable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import connection
from django.db.models import Q

COUNT_CAP = 1000


@dataclass
class KeysetPage:
    rows: list
    next_cursor: int | None
    prev_cursor: int | None
    is_first: bool


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def keyset_page(
    queryset, params, *, column: str = "id", descending: bool = True, per_page: int = 50
) -> KeysetPage:
    """One page of `queryset` ordered by (column, id), both ascending or both descending.

    `column` must be a non-null column with an index starting (environment, column, id) or the
    primary key, so the page is an index range scan that stops after per_page + 1 rows."""
    after, before = _int(params.get("after")), _int(params.get("before"))
    cursor = after or before
    backwards = before is not None and after is None
    order_desc = descending != backwards  # walking backwards flips the direction
    key_value = None
    if cursor is not None and column != "id":
        found = queryset.model._default_manager.filter(pk=cursor).values_list(column, flat=True)[:1]
        found = list(found)
        if not found:
            cursor = None
        else:
            key_value = found[0]
    qs = queryset
    if cursor is not None:
        op = "lt" if order_desc else "gt"
        if column == "id":
            qs = qs.filter(**{f"id__{op}": cursor})
        else:
            # (column, id) > (value, cursor), written so the index range starts at `value`.
            qs = qs.filter(
                Q(**{f"{column}__{op}e": key_value})
                & (Q(**{f"{column}__{op}": key_value}) | Q(**{f"id__{op}": cursor}))
            )
    prefix = "-" if order_desc else ""
    ordering = [f"{prefix}{column}", f"{prefix}id"] if column != "id" else [f"{prefix}id"]
    rows = list(qs.order_by(*ordering)[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
        return KeysetPage(
            rows=rows,
            next_cursor=rows[-1].pk if rows else None,
            prev_cursor=rows[0].pk if rows and more else None,
            is_first=not more,
        )
    return KeysetPage(
        rows=rows,
        next_cursor=rows[-1].pk if rows and more else None,
        prev_cursor=rows[0].pk if rows and cursor is not None else None,
        is_first=cursor is None,
    )


def capped_count(queryset, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most cap + 1 rows, never the whole table."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


def capped_counts(counts: list[tuple], cap: int = COUNT_CAP) -> list[tuple[int, bool]]:
    """capped_count of several `model.objects.filter(<field>=value)` ([(model, field name, value)])
    in one statement: each counts at most cap + 1 index entries, as capped_count does."""
    if not counts:
        return []
    sql = _capped_counts_sql(tuple((model, field) for model, field, _value in counts), cap)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _model, _field, value in counts])
        row = cursor.fetchone()
    return [(min(count, cap), count > cap) for count in row]


@lru_cache(maxsize=64)
def _capped_counts_sql(counts: tuple, cap: int) -> str:
    quote = connection.ops.quote_name
    parts = []
    for i, (model, field) in enumerate(counts):
        table, column = quote(model._meta.db_table), quote(model._meta.get_field(field).column)
        parts.append(
            f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {column} = %s LIMIT {int(cap) + 1}) c{i})"
        )
    return f"SELECT {', '.join(parts)}"


def page_url(request, **changes) -> str:
    """The current URL with `changes` applied (None removes a parameter)."""
    params = request.GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    query = params.urlencode()
    return f"{request.path}?{query}" if query else request.path


def pager_context(request, page: KeysetPage) -> dict:
    """What console/includes/pager.html needs: the page and the URLs of its neighbours (and of
    the first page, when this is not it)."""
    return {
        "page": page,
        "next_url": page_url(request, after=str(page.next_cursor), before=None) if page.next_cursor else None,
        "prev_url": page_url(request, before=str(page.prev_cursor), after=None) if page.prev_cursor else None,
        "first_url": page_url(request, after=None, before=None) if not page.is_first else None,
    }
