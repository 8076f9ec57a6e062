"""Point accounts, read often and changed rarely: cached per process through the Django cache.

Saving an account through the settings pages calls `clear_account_cache()`.
"""

from django.core.cache import cache

from events.errors import ValidationError

from .models import PointAccount

CACHE_KEY = "loyalty:accounts:v1"


def all_accounts() -> list[PointAccount]:
    accounts = cache.get(CACHE_KEY)
    if accounts is None:
        accounts = list(PointAccount.objects.order_by("code"))
        if not any(a.is_default for a in accounts):
            default, _ = PointAccount.objects.get_or_create(
                code="points", defaults={"name": "Points", "is_default": True}
            )
            accounts = list(PointAccount.objects.order_by("code"))
        cache.set(CACHE_KEY, accounts, 60)
    return accounts


def clear_account_cache() -> None:
    cache.delete(CACHE_KEY)


def default_account() -> PointAccount:
    return next(a for a in all_accounts() if a.is_default)


def account_by_id(pk: int) -> PointAccount:
    for account in all_accounts():
        if account.pk == pk:
            return account
    clear_account_cache()
    return PointAccount.objects.get(pk=pk)


def resolve_account(code: str | None, *, multi_accounts: bool) -> PointAccount:
    """The account an event names, or the default one. Unknown codes are a validation error."""
    if not code:
        return default_account()
    for account in all_accounts():
        if account.code == code:
            if not multi_accounts and not account.is_default:
                raise ValidationError(
                    "The multi-accounts module is off; only the default account can be used.", field="account"
                )
            return account
    raise ValidationError(f"Unknown account {code!r}.", field="account")
