"""Small helpers shared by the engine and lifecycle tests (register/enroll/live/counts: tests/factories.py)."""

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast

TEXT_FIELDS = (models.CharField, models.TextField, models.EmailField, models.JSONField, models.SlugField)


def find_everywhere(value: str) -> list[str]:
    """Every (table.column) of every model whose text or JSON contains `value`, case-insensitively."""
    hits = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            manager = model._base_manager
            if isinstance(field, models.JSONField):
                found = manager.annotate(_as_text=Cast(field.name, models.TextField())).filter(
                    _as_text__icontains=value
                )
            else:
                found = manager.filter(Q(**{f"{field.name}__icontains": value}))
            if found.exists():
                hits.append(f"{model._meta.db_table}.{field.column}")
    return hits
