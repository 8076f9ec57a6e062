"""Small helpers shared by the engine and lifecycle tests."""

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast

from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from events.models import Event


def register(action, customer="Anna-1", data=None, environment="live", **kwargs):
    return register_event(
        environment=environment, customer=customer, action=action, data=data or {}, **kwargs
    )


def console(action, customer="Anna-1", data=None, **kwargs):
    """An event from the console (source platform), as the console's buttons register them."""
    return register(action, customer, data, source=EventSource.PLATFORM, **kwargs)


def enroll(customer="Anna-1", **data) -> Customer:
    return register("opt_in", customer, data).customer


def counts() -> tuple[int, int]:
    return Customer.objects.count(), Event.objects.count()


def live(customer_id: str, environment: str = "live") -> Customer:
    return Customer.objects.get(environment=environment, customer_id=customer_id, anonymized_at__isnull=True)


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
