"""Custom field definitions, read on every profile event and `field:value` lookup: cached.

CustomField.save() / delete() clear the cache (an explicit model method, not a signal), so a
field changed in the settings pages applies to the next event in every worker (Redis cache).
"""

from __future__ import annotations

from django.core.cache import cache

CACHE_KEY = "loyalty:custom-fields:v1"
CACHE_SECONDS = 300


def custom_fields() -> dict:
    """{name: CustomField} in display order."""
    from .models import CustomField

    fields = cache.get(CACHE_KEY)
    if fields is None:
        fields = {field.name: field for field in CustomField.objects.order_by("position", "name")}
        cache.set(CACHE_KEY, fields, CACHE_SECONDS)
    return fields


def external_id_fields() -> set[str]:
    return {name for name, field in custom_fields().items() if field.external_id}


def clear_cache() -> None:
    cache.delete(CACHE_KEY)
