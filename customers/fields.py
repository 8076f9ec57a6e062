"""Custom field definitions, read on every profile event and `field:value` lookup: cached.

CustomField.save() / delete() clear the cache (an explicit model method, not a signal), so a
field changed in the settings pages applies to the next event in this process at once and in every
other worker within a second (loyalty.configcache).
"""

from __future__ import annotations

from loyalty import configcache

from .models import CustomField

CACHE_KEY = "loyalty:custom-fields:v1"


def custom_fields() -> dict:
    """{name: CustomField} in display order (read-only objects shared by the process's threads)."""
    return configcache.get(CACHE_KEY, _load)


def _load() -> dict:
    return {field.name: field for field in CustomField.objects.order_by("position", "name")}


def external_id_fields() -> set[str]:
    return {name for name, field in custom_fields().items() if field.external_id}


def clear_cache() -> None:
    configcache.changed()
