"""Custom field definitions, read on every profile event and `field:value` lookup: cached.

CustomField.save() / delete() clear the cache (an explicit model method, not a signal), so a
field changed in the settings pages applies to the next event in this process at once and in every
other worker within a second (loyalty.configcache).
"""

from __future__ import annotations

from loyalty import configcache

CACHE_KEY = "loyalty:custom-fields:v1"


def custom_fields() -> dict:
    """{name: CustomField} in display order (read-only objects shared by the process's threads)."""
    return configcache.get(CACHE_KEY, _load)


def _load() -> dict:
    from .models import CustomField

    return {field.name: field for field in CustomField.objects.order_by("position", "name")}


def external_id_fields() -> set[str]:
    return {name for name, field in custom_fields().items() if field.external_id}


def clear_cache() -> None:
    configcache.changed()


def index_external_ids(name: str) -> int:
    """Fill the ExternalId index for a field just tagged `external_id` from the values customers
    already have. The first customer holding a value keeps it; later duplicates are not indexed
    (their profile events will report the conflict). Returns the number of values indexed."""
    from .models import Customer, ExternalId

    rows = (
        Customer.objects.filter(anonymized_at__isnull=True, custom__has_key=name)
        .order_by("pk")
        .values_list("pk", "environment", "custom")
    )
    batch, indexed = [], 0
    for pk, environment, custom in rows.iterator(chunk_size=2000):
        value = (custom or {}).get(name)
        if value in (None, "") or len(str(value)) > 300:
            continue  # too long for the index: never cut (a cut value could match another's; §6)
        batch.append(ExternalId(environment=environment, field=name, value=str(value), customer_id=pk))
        if len(batch) >= 1000:
            indexed += len(ExternalId.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        indexed += len(ExternalId.objects.bulk_create(batch, ignore_conflicts=True))
    return indexed
