"""Opt-out and merge hooks (customers.privacy.PERSONAL_DATA_SCRUBBERS, customers.merge.CUSTOMER_MERGERS).

Opt-out ends the customer's list and segment memberships (an anonymized customer is excluded
from every segment build). Bulk requests store
the customer references as sent, which are personal: they are replaced with the scrubbed marker.
A merge moves list memberships to the target (unless it is already on the list) and ends the
source's segment memberships; the next rebuild places the target.
"""

from __future__ import annotations

from loyalty import clock

from .building import current_memberships_of
from .models import BulkOperation, BulkOperationError, CustomerListMember

SCRUBBED = "[anonymized]"


def scrub_customer(customer, original: dict) -> None:
    refs = {v for v in original.get("values", []) if isinstance(v, str)}
    refs.add(original.get("customer_id") or "")
    refs.update(f"{field}:{value}" for field, value in (original.get("external_ids") or {}).items())
    refs.discard("")
    CustomerListMember.objects.filter(customer=customer).delete()
    current_memberships_of(customer.pk).update(left_at=clock.now())
    if not refs:
        return
    BulkOperationError.objects.filter(customer__in=refs).update(customer=SCRUBBED)
    for operation in BulkOperation.objects.filter(environment=customer.environment).only("pk", "customers"):
        if any(ref in refs for ref in operation.customers):
            operation.customers = [SCRUBBED if ref in refs else ref for ref in operation.customers]
            operation.save(update_fields=["customers"])


def merge_customer(source, target) -> None:
    already = CustomerListMember.objects.filter(customer=target).values("customer_list_id")
    CustomerListMember.objects.filter(customer=source).exclude(customer_list_id__in=already).update(
        customer=target
    )
    CustomerListMember.objects.filter(customer=source).delete()
    current_memberships_of(source.pk).update(left_at=clock.now())
