"""Commerce hooks the customer lifecycle calls by dotted path (customers.privacy, customers.merge).

Opt-out: transactions keep their figures (totals, points) for the program's accounting but lose what
identifies the person: the guest identifier, the channel and the free-form attributes the shop sent.
Merge: the source's transactions become the target's (the merge adds up the purchase figures).
"""

from .models import Transaction


def scrub_customer(customer) -> int:
    """Returns the number of transactions scrubbed."""
    return Transaction.objects.filter(customer=customer).update(guest="", data={}, channel="")


def merge_customer(source, target) -> int:
    return Transaction.objects.filter(customer=source).update(customer=target)
