"""Finding a customer by customer ID or by `field:value` external ID, within one environment.

Opted-out (anonymized) and merged-away profiles are never found: their IDs are free, and an event
naming one creates (or, for opt_in, enrolls) a new profile.
"""

from __future__ import annotations

from django.db import connection

from cards.choices import CardStatus
from cards.models import CardRegistration
from loyalty import fastsql
from loyalty.errors import MissingParameter, ValidationError
from loyalty.models import Program

from .fields import external_id_fields
from .models import Customer, ExternalId
from .queries import referral_columns


def parse_customer_ref(customer_ref, external_id: str | None = None) -> tuple[str | None, str]:
    """(external field or None, value). `field:value` is an external ID anywhere an ID is accepted,
    and `card:<code>` a loyalty card's customer."""
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


# `card:<code>` names the customer registered to an active loyalty card, unless the
# program has an external-ID custom field named "card", which keeps its meaning.
CARD_FIELD = "card"

# Instance attributes a locked lookup sets: the referrer's customer ID and how many customers name
# this one as referrer (the Customer API's `referrer` and `referrals`, which every event response
# shows: a query of their own cost a round trip per event). They are as of the lock. A handler that
# moves referrals (merge) drops REFERRAL_COUNT; one that sets the referrer caches the new one.
REFERRER_ID = "referrer_customer_id"
REFERRAL_COUNT = "referral_count"


def _referral_sql() -> dict[str, str]:
    referrer, referrals = referral_columns(connection.ops.quote_name(Customer._meta.db_table))
    return {REFERRER_ID: referrer, REFERRAL_COUNT: referrals}


def find_customer(environment: str, customer_ref, external_id: str | None = None, *, lock: bool = False):
    """The live (non-anonymized) customer an ID or `field:value` names, or None.

    With lock=True the row is locked (SELECT ... FOR UPDATE) for the current transaction, and the
    instance carries REFERRER_ID and REFERRAL_COUNT (above).
    """
    field, value = parse_customer_ref(customer_ref, external_id)
    extra = _referral_sql() if lock else None
    if field is None:
        # The hot path of every event and customer read: one plain SELECT (loyalty.fastsql).
        return fastsql.first(
            Customer,
            "environment = %s AND customer_id = %s AND anonymized_at IS NULL",
            [environment, value],
            lock=lock,
            extra=extra,
        )
    external = external_id_fields()
    if field == CARD_FIELD and field not in external:
        # a loyalty card code names its customer (an external-ID field named "card" wins)
        pk = customer_by_card(environment, value)
    elif field not in external:
        raise ValidationError(f"{field!r} is not an external ID field.", field="external_id")
    else:
        pk = (
            ExternalId.objects.filter(environment=environment, field=field, value=value)
            .values_list("customer_id", flat=True)
            .first()
        )
    if not pk:
        return None
    return fastsql.first(Customer, "id = %s AND anonymized_at IS NULL", [pk], lock=lock, extra=extra)


def customer_by_card(environment: str, code: str) -> int | None:
    """The customer pk an active loyalty card identifies (`card:<code>`), or None.

    Raises ValidationError when the loyalty-cards module is off or the card has several customers."""
    if not Program.current().loyalty_cards:
        raise ValidationError("The loyalty cards module is off.", field="customer")
    pks = list(
        CardRegistration.objects.filter(
            card__environment=environment, card__code=code, card__status=CardStatus.ACTIVE
        ).values_list("customer_id", flat=True)[:2]
    )
    if len(pks) > 1:
        raise ValidationError(
            f"Card {code!r} is registered to several customers; name the customer instead.", field="customer"
        )
    return pks[0] if pks else None
