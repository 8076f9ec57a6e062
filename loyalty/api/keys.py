"""Creating, rotating and revoking API keys (console pages and `manage.py create_api_key`)."""

from __future__ import annotations

import secrets

from django.db import transaction

from loyalty import clock
from loyalty.choices import Environment

from .auth import credential_scope, forget_key
from .models import ALL_SCOPES, DEFAULT_RATE_LIMIT, ApiKey


def new_key_id(environment: str) -> str:
    # Letters, digits and underscores only: the Escher Credential grammar allows no other characters.
    return f"{environment}_{secrets.token_hex(12)}"


def new_secret() -> str:
    return secrets.token_hex(32)


def create_api_key(
    *,
    name: str,
    environment: str,
    scopes: list[str] | None = None,
    allow_unsigned: bool = False,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    created_by=None,
) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once)."""
    if environment not in Environment.values:
        raise ValueError(f"Unknown environment {environment!r}.")
    unknown = set(scopes or []) - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}.")
    secret = new_secret()
    api_key = ApiKey.objects.create(
        name=name,
        key=new_key_id(environment),
        secret=secret,
        environment=environment,
        scopes=list(scopes) if scopes is not None else list(ALL_SCOPES),
        allow_unsigned=allow_unsigned,
        rate_limit=rate_limit,
        created_at=clock.now(),
        created_by=created_by,
    )
    return api_key, secret


@transaction.atomic
def rotate(api_key: ApiKey) -> str:
    """A new secret for the same key ID; the old secret stops working at once."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    api_key.secret = new_secret()
    api_key.rotated_at = clock.now()
    api_key.save(update_fields=["secret", "rotated_at"])
    forget_key(api_key.key)
    return api_key.secret


def revoke(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=clock.now())
    forget_key(api_key.key)


def client_config(api_key: ApiKey, secret: str) -> dict:
    return {
        "key": api_key.key,
        "secret": secret,
        "environment": api_key.environment,
        "credential_scope": credential_scope(),
    }
