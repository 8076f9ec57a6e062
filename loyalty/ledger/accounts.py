"""Point accounts, read often and changed rarely: kept in process memory (loyalty.configcache).

`PointAccount.save()` and `delete()` clear the cache (loyalty.configcache), like every
configuration model. Customers' subledgers (PointAccount.owner set) are not program
accounts: `all_accounts()` leaves them out; `account_by_id` finds them too (kept in a small
per-process map: a subledger never changes after it is created, but for its owner on a merge).
"""

from django.db import connection

from loyalty import configcache
from loyalty.errors import ValidationError
from loyalty.models import PointAccount

CACHE_KEY = "loyalty:accounts:v1"


def program_accounts():
    """The program's accounts (a QuerySet by code), without customers' subledgers: what a reward,
    an earning rule or any program-wide setting may name."""
    return PointAccount.objects.filter(owner__isnull=True).order_by("code")


def all_accounts() -> list[PointAccount]:
    """Every account by code (read-only objects shared by the process's threads)."""
    return configcache.get(CACHE_KEY, _load)


def _load() -> list[PointAccount]:
    def program_accounts():
        return list(PointAccount.objects.filter(owner__isnull=True).order_by("code"))

    accounts = program_accounts()
    if not any(a.is_default for a in accounts):
        PointAccount.objects.get_or_create(
            code="points", owner=None, defaults={"name": "Points", "is_default": True}
        )
        accounts = program_accounts()
    return accounts


def clear_account_cache() -> None:
    configcache.changed()


def default_account() -> PointAccount:
    return next(a for a in all_accounts() if a.is_default)


_SUBLEDGERS: dict[int, PointAccount] = {}
_SUBLEDGER_CACHE_SIZE = 10_000


def account_by_id(pk: int) -> PointAccount:
    for account in all_accounts():
        if account.pk == pk:
            return account
    known = _SUBLEDGERS.get(pk)
    if known is not None:
        return known
    account = PointAccount.objects.get(pk=pk)
    if account.owner_id is None:
        clear_account_cache()  # a program account this process has not seen yet
    else:
        if len(_SUBLEDGERS) >= _SUBLEDGER_CACHE_SIZE:
            _SUBLEDGERS.clear()
        _SUBLEDGERS[pk] = account
    return account


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


# customers_customer column <- loyalty_pointbalance column (operations.TOTALS, reversed).
_TOTAL_COLUMNS = {
    "score": "earned",
    "spent": "spent",
    "spendable": "spendable",
    "pending": "pending",
    "reserved": "reserved",
    "expired": "expired",
}


def refresh_customer_totals() -> int:
    """Set every customer's top-level figures to its default account's balance (zeros without
    one): after the default account changes, and by the migration that gave the figures this
    meaning. One UPDATE; run inside the caller's transaction. Returns rows updated."""
    sets = ", ".join(
        f"{total} = COALESCE((SELECT b.{figure} FROM loyalty_pointbalance b "
        "WHERE b.customer_id = customers_customer.id AND b.account_id = "
        "(SELECT a.id FROM loyalty_pointaccount a WHERE a.is_default)), 0)"
        for total, figure in _TOTAL_COLUMNS.items()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE customers_customer SET {sets}")
        return cursor.rowcount
