"""Finding a customer by customer ID or by `field:value` external ID, within one environment.

Opted-out (anonymized) and merged-away profiles are never found: their IDs are free, and an event
naming one creates (or, for opt_in, enrolls) a new profile.
"""

from __future__ import annotations

from events.errors import MissingParameter, ValidationError
from loyalty import fastsql

from .fields import external_id_fields
from .models import Customer, ExternalId


def parse_customer_ref(customer_ref, external_id: str | None = None) -> tuple[str | None, str]:
    """(external field or None, value). `field:value` is an external ID anywhere an ID is accepted."""
    if isinstance(customer_ref, int) and not isinstance(customer_ref, bool):
        customer_ref = str(customer_ref)  # JSON clients send numeric IDs as numbers
    if not isinstance(customer_ref, str) or not customer_ref.strip():
        raise MissingParameter("Missing required parameter 'customer'.", field="customer")
    if "\x00" in customer_ref:
        raise ValidationError("The customer ID contains a NUL character.", field="customer")
    if external_id:
        return external_id, customer_ref
    if ":" in customer_ref:
        field, value = customer_ref.split(":", 1)
        return field, value
    return None, customer_ref


def find_customer(environment: str, customer_ref, external_id: str | None = None, *, lock: bool = False):
    """The live (non-anonymized) customer an ID or `field:value` names, or None.

    With lock=True the row is locked (SELECT ... FOR UPDATE) for the current transaction.
    """
    field, value = parse_customer_ref(customer_ref, external_id)
    if field is None:
        # The hot path of every event and customer read: one plain SELECT (loyalty.fastsql).
        return fastsql.first(
            Customer,
            "environment = %s AND customer_id = %s AND anonymized_at IS NULL",
            [environment, value],
            lock=lock,
        )
    if field not in external_id_fields():
        raise ValidationError(f"{field!r} is not an external ID field.", field="external_id")
    pk = (
        ExternalId.objects.filter(environment=environment, field=field, value=value)
        .values_list("customer_id", flat=True)
        .first()
    )
    if not pk:
        return None
    return fastsql.first(Customer, "id = %s AND anonymized_at IS NULL", [pk], lock=lock)
