"""Verification tokens for the Display API's `GET /customers/-/verify?token=` (reference §8.2):
a signed, timestamped `{environment, customer ID}` (django.core.signing, salted), valid for
`VERIFICATION_TOKEN_MAX_AGE` seconds (7 days). The token is handed out by the Display API opt-in
of a pending customer (`verification_token`); the shop e-mails the link. Nothing is stored."""

from __future__ import annotations

import hashlib

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


# Password reset (the Custom login module, reference §8.2 `/customers/-/password/request` and
# `/reset`): a signed, timestamped {environment, customer ID, a fingerprint of the current password
# hash}, valid for PASSWORD_RESET_TIMEOUT seconds. Setting a new password changes the hash, so a
# token works once; nothing is stored.
RESET_SALT = "loyalty.customers.password-reset"


def _password_fingerprint(customer) -> str:
    return hashlib.sha256(f"{customer.pk}:{customer.password}".encode()).hexdigest()[:20]


def make_reset_token(customer) -> str:
    payload = {"e": customer.environment, "c": customer.customer_id, "p": _password_fingerprint(customer)}
    return signing.dumps(payload, salt=RESET_SALT, compress=True)


def read_reset_token(token, environment: str, find) -> object:
    """The customer a reset token names (`find(customer_id)` loads it), for this environment and
    its current password; ValidationError (field `token`) for a forged, altered, expired,
    other-environment or already used token."""
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise ValidationError("Missing or malformed password reset token.", field="token")
    try:
        payload = signing.loads(token, salt=RESET_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    except signing.SignatureExpired:
        raise ValidationError("The password reset token has expired.", field="token") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise ValidationError("The password reset token is not valid.", field="token") from None
    if (
        not isinstance(payload, dict)
        or payload.get("e") != environment
        or not isinstance(payload.get("c"), str)
    ):
        raise ValidationError("The password reset token is not valid.", field="token")
    customer = find(payload["c"])
    if customer is None or payload.get("p") != _password_fingerprint(customer):
        raise ValidationError("The password reset token is not valid (already used?).", field="token")
    return customer
