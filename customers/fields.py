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


# Built-in attributes whose label is not just the name with spaces, capitalized.
BUILTIN_LABELS = {
    "customer_id": "ID",
    "zip": "ZIP",
    "birth_date": "Birth date",
    "image_url": "Image URL",
    "mobile_phone": "Mobile phone",
    "email": "Email",
}


def attribute_label(name: str) -> str:
    """What a person reads for an attribute name: the custom field's label, a built-in's label,
    else the name with spaces, capitalized (`shoe_size` -> the field's label "Shoe size (EU)")."""
    field = custom_fields().get(name)
    if field is not None and field.label:
        return field.label
    if name in BUILTIN_LABELS:
        return BUILTIN_LABELS[name]
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else str(name)


def attribute_labels(names) -> dict[str, str]:
    """{name: label} for the given attribute names."""
    return {name: attribute_label(name) for name in names}
