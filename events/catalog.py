"""The action catalog the engine reads on every event: built-in specs plus the console's custom
event definitions and built-in extensions, cached so that a built-in action costs no query.

The catalog is a plain dict of frozen specs kept in process memory (loyalty.configcache: every
worker sees a change within a second). EventDefinition and EventAttribute clear it when saved or
deleted (their `save()` / `delete()` call `clear_cache()`), and the console views call it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from loyalty import configcache

from . import definitions
from .definitions import ActionSpec, Attr
from .models import EventDefinition

CACHE_KEY = "loyalty:event-catalog:v1"


@dataclass(frozen=True)
class CustomSpec:
    """A custom event (spec + points) or the extra attributes of a built-in action."""

    spec: ActionSpec
    points: int
    builtin_extension: bool
    one_time: bool = False


def _load() -> dict[str, CustomSpec]:

    catalog = {}
    for definition in EventDefinition.objects.filter(active=True).prefetch_related("attributes"):
        attrs = tuple(Attr(a.name, a.type, a.required) for a in definition.attributes.all())
        catalog[definition.action] = CustomSpec(
            spec=ActionSpec(definition.action, definition.label, attrs),
            points=definition.points,
            builtin_extension=definition.builtin_extension,
            one_time=definition.one_time,
        )
    return catalog


def custom_specs() -> dict[str, CustomSpec]:
    return configcache.get(CACHE_KEY, _load)


def clear_cache() -> None:
    configcache.changed()


def extension_attrs(action: str) -> tuple[Attr, ...]:
    """Attributes the console added to a built-in, non-internal action (Custom events module)."""
    custom = custom_specs().get(action)
    if custom is None or not custom.builtin_extension:
        return ()
    return custom.spec.attributes


def label_for(action: str) -> str:
    spec = definitions.BUILTIN_ACTIONS.get(action)
    if spec is not None:
        return spec.label
    custom = custom_specs().get(action)
    return custom.spec.label if custom is not None else action
