"""Request helpers every app's API views share: the customer a path names, bulk bodies, flags."""

from __future__ import annotations

from django.conf import settings

from customers.lookup import find_customer
from loyalty.errors import CustomerNotFound, MissingParameter, ValidationError

from . import errors as api_errors


def find_or_404(request, ref: str):
    """The live customer `ref` (customer ID or `field:value`) names in the key's environment;
    CustomerNotFound (160212, 404) otherwise."""
    customer = find_customer(request.auth.environment, ref)
    if customer is None:
        raise CustomerNotFound(f"Customer {ref[:200]!r} not found.", field="customer")
    return customer


def json_body(request, *, optional: bool = False, what: str = "a JSON object") -> dict:
    """The request's body as an object: a JSON object (or a form's fields). Any other body (a
    list, a number, a string) is a ValidationError (113400, field `body`) saying it must be `what`;
    `optional`: no body at all (or ``""`` / ``[]``) reads as {}."""
    data = request.data
    if isinstance(data, dict):
        return data
    if optional and data in (None, "", []):
        return {}
    raise ValidationError(f"The request body must be {what}.", field="body")


def bulk_max() -> int:
    return getattr(settings, "API_BULK_MAX_EVENTS", 500)


def bulk_items(data, name: str) -> list:
    """The list under `name` of a bulk request body, checked: present, a list, not too long
    (MissingParameter 113401, ValidationError 113400, TooManyItems 140414)."""
    items = data.get(name) if isinstance(data, dict) else None
    if items is None:
        raise MissingParameter(f"Missing required parameter {name!r}.", field=name)
    if not isinstance(items, list):
        raise ValidationError(f"{name!r} must be a list.", field=name)
    if len(items) > bulk_max():
        raise api_errors.TooManyItems(f"At most {bulk_max()} {name} per request.", field=name)
    return items


def truthy(value) -> bool:
    """A query flag: 1 / true / yes / on (any case) is true."""
    return str(value).strip().lower() in {"1", "true", "yes", "on"}
