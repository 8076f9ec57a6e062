"""Opt-out scrubbing for commerce data (called by customers.lifecycle by dotted path).

Transactions keep their figures (totals, points) for the program's accounting, but lose what
identifies the person: the guest identifier and free-form attributes the shop sent along.
"""

from .models import Transaction


def scrub_customer(customer) -> int:
    """Returns the number of transactions scrubbed."""
    return Transaction.objects.filter(customer=customer).update(guest="", data={}, channel="")
