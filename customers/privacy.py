"""Opt-out anonymization (001, "Data handling after opt out").

The customer ID is replaced by a keyed hash, every personal value is scrubbed from the customer
row and from the data, reason, user agent and IP address of all their events, and the other
apps' tables are scrubbed by the functions named in customers.hooks.PERSONAL_DATA_SCRUBBERS. The ID becomes free:
a later opt_in with it enrolls a completely new profile.

Events change here inside `allow(Change.ANONYMIZE)`, one of the three documented changes to a
stored event (the PostgreSQL trigger lets this change touch only data, reason, user_agent,
ip_address and transaction_id).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

from events.immutability import Change, allow
from events.models import Event
from loyalty.audit.models import ChangeLogEntry
from transactions.models import Transaction

from .choices import CustomerStatus
from .hooks import PERSONAL_DATA_SCRUBBERS, call_hooks
from .models import ANONYMIZED_PREFIX, BUILTIN_ATTRIBUTES, Customer, ExternalId

# Event data keys whose values are not personal and that the ledger history keeps after opt-out.
SAFE_DATA_KEYS = {
    "points",
    "account",
    "expiration_date",
    "activation_date",
    "lots",
    "structure",
    "tier",
    "lock",
    "mode",
    "spend_event",
    "transaction_id",
    "total",
}
# Built-in values too generic to identify anyone, and so not searched for inside other text.
_GENERIC_ATTRIBUTES = {"gender", "language", "currency", "country"}
SCRUBBED = "[anonymized]"


def anonymous_id(customer: Customer) -> str:
    """A keyed hash: not reversible by hashing guessed IDs, unique per profile row."""
    message = f"{customer.environment}:{customer.pk}:{customer.customer_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"{ANONYMIZED_PREFIX}{digest[:32]}"


def original_values(customer: Customer) -> dict:
    """What the scrubbers must remove: the ID and every personal value, before scrubbing.

    `values` holds the current values and every earlier one (`earlier_values`): what the profile
    held before an edit, what merged-away profiles held (their events moved here), guest
    identifiers of claimed checkouts. Scrubbers match free text against all of them."""
    attributes = {name: getattr(customer, name) for name in BUILTIN_ATTRIBUTES}
    external_ids = dict(ExternalId.objects.filter(customer=customer).values_list("field", "value"))
    identifying = [customer.customer_id]
    for name, value in attributes.items():
        if name not in _GENERIC_ATTRIBUTES and value not in (None, ""):
            identifying.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
    for value in list((customer.custom or {}).values()) + list(external_ids.values()):
        if isinstance(value, str) and value:
            identifying.append(value)
    identifying.extend(earlier_values(customer))
    return {
        "environment": customer.environment,
        "customer_id": customer.customer_id,
        "attributes": attributes,
        "custom": dict(customer.custom or {}),
        "external_ids": external_ids,
        # Longest first, so "Anna Smith" is replaced before "Anna".
        "values": sorted(set(identifying), key=len, reverse=True),
    }


# Event actions whose data carries profile attributes (current or earlier values).
_PROFILE_ACTIONS = ("opt_in", "profile", "merge")
# Keys of those events' data that are no personal values.
_NOT_PERSONAL_KEYS = {"labels", "mode", "password", "confirm_password", *_GENERIC_ATTRIBUTES}


def earlier_values(customer: Customer) -> list[str]:
    """Every value the customer's profile held before (and the IDs of profiles merged into it):
    string values of its opt_in / profile / merge events and of its change-log diffs, and the
    guest identifiers of its transactions. Read in chunks (bounded memory)."""
    found: set[str] = set()

    def collect(value, key: str = "") -> None:
        if key in _NOT_PERSONAL_KEYS or key in SAFE_DATA_KEYS:
            return
        if isinstance(value, str):
            if value.strip():
                found.add(value.strip())
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for name, item in value.items():
                collect(item, name)

    events = Event.objects.filter(customer=customer, action__in=_PROFILE_ACTIONS).only("id", "data")
    for event in events.order_by().iterator(chunk_size=1000):
        collect(event.data)
    entries = ChangeLogEntry.objects.filter(customer=customer).only("id", "before", "after")
    for entry in entries.order_by().iterator(chunk_size=1000):
        for diff in (entry.before, entry.after):
            if isinstance(diff, dict):
                for name, value in diff.items():
                    if name not in ("status", "balances", "tiers"):
                        collect(value, name if name != "data" else "")
    found.update(
        g for g in Transaction.objects.filter(customer=customer).values_list("guest", flat=True) if g
    )
    return sorted(found)


def anonymize(customer: Customer, *, now, events=(), merged_into: Customer | None = None) -> dict:
    """Scrub the customer (locked by the caller) everywhere; returns the original values.

    `events` are in-memory Event objects of this transaction (the opt_out event itself) that
    get the scrubbed values too, so the response does not echo what was removed.
    """
    originals = original_values(customer)
    new_id = anonymous_id(customer)
    originals["anonymous_id"] = new_id
    matcher = _matcher(originals["values"])
    with allow(Change.ANONYMIZE):
        scrubbed = scrub_events(customer, matcher)
        _replace_referrer_mentions(customer.environment, originals["customer_id"], new_id)
    for event in events:
        if event.pk in scrubbed:
            event.data, event.reason, event.user_agent, event.ip_address, event.transaction_id = scrubbed[
                event.pk
            ]

    for name in BUILTIN_ATTRIBUTES:
        setattr(customer, name, None if name == "birth_date" else "")
    customer.custom = {}
    customer.password = ""
    customer.referrer = None
    customer.labels.clear()
    ExternalId.objects.filter(customer=customer).delete()
    customer.customer_id = new_id
    customer.status = CustomerStatus.OPTED_OUT
    customer.anonymized_at = now
    if merged_into is not None:
        customer.merged_into = merged_into
    call_hooks(PERSONAL_DATA_SCRUBBERS, customer, originals)
    return originals


def scrub_events(customer: Customer, matcher) -> dict[int, tuple]:
    """Scrub all the customer's events in batches; returns {event id: scrubbed values}."""
    fields = ["data", "reason", "user_agent", "ip_address", "transaction_id"]
    scrubbed: dict[int, tuple] = {}
    batch: list[Event] = []
    queryset = Event.objects.filter(customer=customer).only("id", *fields).order_by("id")
    for event in queryset.iterator(chunk_size=1000):
        event.data = scrub_data(event.data, matcher)
        event.reason = scrub_text(event.reason, matcher)
        event.user_agent = ""
        event.ip_address = None
        if event.transaction_id and matcher and matcher.search(event.transaction_id):
            event.transaction_id = SCRUBBED
        scrubbed[event.pk] = (
            event.data,
            event.reason,
            event.user_agent,
            event.ip_address,
            event.transaction_id,
        )
        batch.append(event)
        if len(batch) >= 500:
            Event.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Event.objects.bulk_update(batch, fields)
    return scrubbed


def scrub_data(data, matcher) -> dict:
    """Keep only non-personal keys (points, account, dates...) whose values name nobody."""
    kept = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SAFE_DATA_KEYS and _is_clean(value, matcher):
                kept[key] = value
    kept["_anonymized"] = True
    return kept


def scrub_text(text: str, matcher) -> str:
    if not text or matcher is None:
        return text or ""
    return matcher.sub(SCRUBBED, text)


def _is_clean(value, matcher) -> bool:
    if isinstance(value, str):
        return matcher is None or not matcher.search(value)
    if isinstance(value, list):
        return all(_is_clean(item, matcher) for item in value)
    if isinstance(value, dict):
        return all(_is_clean(item, matcher) for item in value.values())
    return True


def _matcher(values: list[str]):
    """One case-insensitive pattern for all identifying values. Values of one or two characters
    are only matched as whole words, so a first name "Al" does not scrub "Total"."""
    parts = []
    for value in values:
        if len(value) >= 3:
            parts.append(re.escape(value))
        elif value:
            parts.append(rf"\b{re.escape(value)}\b")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _replace_referrer_mentions(environment: str, customer_id: str, new_id: str) -> None:
    """Other customers' opt_in/profile events that named this customer as referrer."""
    mentions = (
        # `data -> 'referrer'` matches the partial index event_referrer on PostgreSQL.
        Event.objects.filter(
            environment=environment, action__in=["opt_in", "profile"], data__referrer=customer_id
        ).only("id", "data")
    )
    batch = []
    for event in mentions.iterator(chunk_size=500):
        event.data = {**event.data, "referrer": new_id}
        batch.append(event)
    if batch:
        Event.objects.bulk_update(batch, ["data"], batch_size=500)
