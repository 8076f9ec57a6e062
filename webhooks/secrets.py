"""Secrets of trusted sites and incoming endpoints, encrypted at rest with Fernet (the
`cryptography` package): AES-128-CBC + HMAC-SHA256, keyed from settings.WEBHOOK_SECRET_KEYS
(comma-separated; the first encrypts, every one decrypts, so a key can be rotated) or, when that
is empty, from SECRET_KEY. A secret is shown once, when it is set; pages show only its hint."""

from __future__ import annotations

import base64
import hashlib
import secrets as random

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (getattr(settings, "WEBHOOK_SECRET_KEYS", "") or "").split(",") if k.strip()]
    keys = keys or [settings.SECRET_KEY]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest())) for k in keys])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain secret; ImproperlyConfigured when no configured key opens it (a changed key)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A webhook secret cannot be decrypted: WEBHOOK_SECRET_KEYS (or SECRET_KEY) changed."
        ) from None


def hint(plain: str) -> str:
    """What pages show of a secret: its last four characters."""
    return f"…{plain[-4:]}" if len(plain) >= 12 else "…"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(random.token_bytes(24)).decode()


def new_token() -> str:
    return random.token_urlsafe(32)
