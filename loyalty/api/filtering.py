"""Every API query parameter is validated by a django-filter FilterSet of the app that owns the
data: an invalid value (an unknown status, a bad time, a NUL character) is a
`400`, code 113400, with `field` naming the parameter, never an empty list or a 500."""

from __future__ import annotations

from loyalty.errors import ValidationError

# Parameters that are not filters: paging, extensions and the unsigned key.
NON_FILTERS = frozenset({"limit", "after", "offset", "order", "sort", "fields", "api_key", "dry_run"})


def first_error(errors) -> tuple[str | None, str]:
    for name, messages in errors.items():
        return (None if name == "__all__" else name), " ".join(str(m) for m in messages)
    return None, "Invalid filter."


def filtered(filterset_class, params, queryset, *, strict_names=False, **kwargs):
    """`queryset` narrowed by the FilterSet bound to `params`; ValidationError for a bad value or,
    with `strict_names`, for a parameter that is neither a filter nor a paging parameter."""
    filterset = filterset_class(data=params, queryset=queryset, **kwargs)
    if strict_names:
        for name in params:
            if name not in filterset.filters and name not in NON_FILTERS:
                raise ValidationError(f"{name[:100]!r} is not a filter of this endpoint.", field=name[:100])
    if not filterset.is_valid():
        field, message = first_error(filterset.errors)
        raise ValidationError(f"{field}: {message}" if field else message, field=field)
    return filterset.qs
