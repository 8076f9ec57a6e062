"""Commerce hooks the customer lifecycle calls by dotted path (customers.privacy, customers.merge).

Opt-out: transactions keep their figures (totals, points, dates, statuses) for the program's
accounting but lose what identifies the person: the guest identifier, the channel, the free-form
attributes the shop sent, a transaction ID that contains a personal value (replaced by an anonymous
one, unique per row) and any personal value in the items' product names, IDs, URLs and categories.
The guest checkout events of these transactions (stored without a customer, claimed later) lose
their data, IP address and user agent like the customer's own events. Unclaimed guest transactions
under one of the customer's identifiers are scrubbed too.
Merge: the source's transactions become the target's (the merge adds up the purchase figures).
"""

from __future__ import annotations

import hashlib

from django.db.models import Q

from customers.privacy import _matcher, scrub_data, scrub_text
from events.immutability import Change, allow
from events.models import Event

from .items import TEXT_FIELDS
from .models import Transaction, TransactionItem

ITEM_TEXT = ("product_id", "product_name", "product_url", "product_category")


def _anonymous_tid(tx: Transaction) -> str:
    return f"anon-{hashlib.sha256(f'{tx.environment}:{tx.pk}'.encode()).hexdigest()[:24]}"


def scrub_customer(customer, originals: dict | None = None) -> int:
    """Returns the number of transactions scrubbed."""
    matcher = _matcher((originals or {}).get("values", []))
    guests = [v for v in (originals or {}).get("values", []) if v]
    guest_keys = set(guests) | {g.lower() for g in guests}
    transactions = Transaction.objects.filter(
        Q(customer=customer)
        | Q(environment=customer.environment, customer__isnull=True, guest__in=guest_keys)
    )
    count = 0
    for tx in transactions.only("id", "environment", "transaction_id").iterator(chunk_size=500):
        old_tid = tx.transaction_id
        new_tid = _anonymous_tid(tx) if matcher and matcher.search(old_tid) else old_tid
        Transaction.objects.filter(pk=tx.pk).update(guest="", data={}, channel="", transaction_id=new_tid)
        if matcher is not None:
            for item in TransactionItem.objects.filter(transaction_id=tx.pk).only("id", *ITEM_TEXT):
                changes = {
                    name: scrub_text(getattr(item, name), matcher)[: TEXT_FIELDS[name]]
                    for name in ITEM_TEXT
                    if matcher.search(getattr(item, name) or "")
                }
                if changes:
                    TransactionItem.objects.filter(pk=item.pk).update(**changes)
        _scrub_guest_events(tx.environment, old_tid, new_tid, matcher)
        count += 1
    return count


def _scrub_guest_events(environment: str, old_tid: str, new_tid: str, matcher) -> None:
    """Events of the transaction that have no customer (the guest checkout)."""
    events = Event.objects.filter(environment=environment, customer__isnull=True, transaction_id=old_tid)
    with allow(Change.ANONYMIZE):
        for event in events.only("id", "data", "reason"):
            Event.objects.filter(pk=event.pk).update(
                data=scrub_data(event.data, matcher),
                reason=scrub_text(event.reason, matcher),
                user_agent="",
                ip_address=None,
                transaction_id=new_tid,
            )


def merge_customer(source, target) -> int:
    return Transaction.objects.filter(customer=source).update(customer=target)
