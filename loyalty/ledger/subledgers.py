"""Customers' subledgers (Talon.One): point wallets of one customer inside a program account.

A subledger is a `PointAccount` with `owner` (the customer) and `parent` (the program account
it belongs to, the "ledger"); it has its own balance row, lots and ledger entries, so every rule
of the ledger applies to it unchanged. It copies the parent's expiration rule when created.

Created on the spot by the first point_add naming it (`data.subledger`, as Talon.One's
add_points does); the console's "Create subledger" sends `create_subledger: true`, which refuses
an existing one. Needs the multi-accounts module; switching the module off keeps the rows but
refuses new subledger movements. Only handlers call this module (customer row locked).
"""

from __future__ import annotations

import re

from loyalty.context import HandlerContext
from loyalty.errors import Conflict, NotFound, ValidationError
from loyalty.models import PointAccount

from .accounts import all_accounts

SUBLEDGER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FIELD = "data.subledger"


def check_code(code, field: str = FIELD) -> str:
    """A subledger ID: 1-64 of A-Z a-z 0-9 . _ - and not the code of a program account."""
    if not isinstance(code, str) or not SUBLEDGER_RE.match(code):
        raise ValidationError("A subledger ID is 1 to 64 letters, digits, '.', '_' or '-'.", field=field)
    if any(account.code == code for account in all_accounts()):
        raise ValidationError(f"{code!r} is a program account, not a subledger.", field=field)
    return code


def subledger_account(ctx: HandlerContext, *, create: bool, must_be_new: bool = False) -> PointAccount:
    """The customer's subledger `ctx.data["subledger"]` in ctx.account, created when `create`.

    Raises ValidationError (module off, bad ID), NotFound (unknown, not created) or Conflict
    (`must_be_new` and it exists)."""
    if not ctx.program.multi_accounts:
        raise ValidationError("Subledgers need the multi-accounts module.", field=FIELD)
    code = check_code(ctx.data.get("subledger"))
    parent = ctx.account
    existing = PointAccount.objects.filter(owner=ctx.customer, code=code).first()
    if existing is not None:
        if must_be_new:
            raise Conflict(f"The customer already has a subledger {code!r}.", field=FIELD)
        if existing.parent_id != parent.pk:
            raise ValidationError(
                f"Subledger {code!r} belongs to another account than {parent.code!r}.", field=FIELD
            )
        return existing
    if not create:
        raise NotFound(f"The customer has no subledger {code!r}.", field=FIELD)
    account = PointAccount.objects.create(
        code=code,
        name=code,
        owner=ctx.customer,
        parent=parent,
        expiration_rule=parent.expiration_rule,
        expiration_period=parent.expiration_period,
        expiration_unit=parent.expiration_unit,
        expiration_date=parent.expiration_date,
        expiration_rounding=parent.expiration_rounding,
    )
    ctx.result.extra["subledger_created"] = code
    return account


def customer_subledgers(customer) -> list[PointAccount]:
    return list(PointAccount.objects.filter(owner=customer).order_by("code"))
