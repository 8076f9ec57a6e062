"""Verification tokens for the Display API's `GET /customers/-/verify?token=` (reference §8.2):
a signed, timestamped `{environment, customer ID}` (django.core.signing, salted), valid for
`VERIFICATION_TOKEN_MAX_AGE` seconds (7 days). The token is handed out by the Display API opt-in
of a pending customer (`verification_token`); the shop e-mails the link. Nothing is stored."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from loyalty.errors import ValidationError

SALT = "loyalty.customers.verification"


def max_age() -> int:
    return getattr(settings, "VERIFICATION_TOKEN_MAX_AGE", 7 * 24 * 3600)


def make_token(customer) -> str:
    return signing.dumps({"e": customer.environment, "c": customer.customer_id}, salt=SALT, compress=True)


def read_token(token: str, environment: str) -> str:
    """The customer ID a token names, for this environment; ValidationError (field `token`) for a
    forged, altered, expired or other-environment token."""
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise ValidationError("Missing or malformed verification token.", field="token")
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise ValidationError("The verification token has expired.", field="token") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise ValidationError("The verification token is not valid.", field="token") from None
    if (
        not isinstance(payload, dict)
        or payload.get("e") != environment
        or not isinstance(payload.get("c"), str)
    ):
        raise ValidationError("The verification token is not valid.", field="token")
    return payload["c"]
