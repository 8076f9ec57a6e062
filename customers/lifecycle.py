"""Lifecycle handlers: opt_in, opt_out (anonymization), profile, login, verify, suspend, unsuspend,
ban, unban, merge. Called only by events.engine through its dispatch table, with the customer's
row locked and the event already stored in the same transaction; a raised EngineError rolls both
back.

Statuses and transitions (001; docs/engine.md has the table):

    inactive  --opt_in--> active (pending when customer verification is on) --verify--> active
    active / pending --suspend--> suspended --unsuspend--> active
    any but banned --ban--> banned --unban--> active (inactive if never opted in)
    any --opt_out--> opted_out (anonymized; the ID is free; a new opt_in enrolls a new profile)
"""

from __future__ import annotations

from loyalty.context import HandlerContext
from loyalty.errors import Conflict, MissingParameter, StatusForbids, ValidationError
from referrals import referrals  # issue 20
from transactions.checkout import claim_guest_transactions

from .attributes import apply_attributes, missing_required_fields
from .choices import CustomerStatus as S
from .merge import merge
from .privacy import PERSONAL_DATA_SCRUBBERS, anonymize

__all__ = [
    "ALLOWED_FROM",
    "PERSONAL_DATA_SCRUBBERS",
    "ban",
    "login",
    "merge",
    "opt_in",
    "opt_out",
    "profile",
    "suspend",
    "unban",
    "unsuspend",
    "verify",
]

# The statuses each status-changing action starts from; any other is refused (StatusForbids).
ALLOWED_FROM = {
    "opt_in": {S.INACTIVE, S.PENDING, S.ACTIVE, S.SUSPENDED},
    "verify": {S.PENDING, S.ACTIVE},
    "suspend": {S.ACTIVE, S.PENDING},
    "unsuspend": {S.SUSPENDED},
    "ban": {S.INACTIVE, S.PENDING, S.ACTIVE, S.SUSPENDED},
    "unban": {S.BANNED},
}


def _require(ctx: HandlerContext, action: str) -> None:
    status = ctx.customer.status
    if status not in ALLOWED_FROM[action]:
        error = Conflict if status in _TARGET.get(action, ()) else StatusForbids
        raise error(f"A customer with status {status!r} cannot be sent {action!r}.", field="customer")


# Repeating an action on a customer already in its target status is a conflict, not a rule breach.
_TARGET = {"suspend": {S.SUSPENDED}, "unsuspend": {S.ACTIVE}, "ban": {S.BANNED}, "unban": {S.ACTIVE}}


def _set_status(ctx: HandlerContext, status: str) -> None:
    ctx.customer.status = status


def opt_in(ctx: HandlerContext) -> None:
    """Enroll (inactive -> active, or pending until verified) and write the attributes given.

    Opting in again while enrolled only updates the attributes. An opted-out customer's row is
    anonymized and never found, so the engine handed us a new profile that may reuse the ID.
    """
    _require(ctx, "opt_in")
    customer = ctx.customer
    apply_attributes(ctx)
    missing = missing_required_fields(customer)
    if missing:
        raise MissingParameter(
            f"Missing required attribute(s) for opt-in: {', '.join(missing)}.", field=f"data.{missing[0]}"
        )
    if customer.status == S.INACTIVE:
        _set_status(ctx, S.PENDING if ctx.program.customer_verification else S.ACTIVE)
    if customer.optin_at is None:
        customer.optin_at = ctx.now
    if ctx.program.transactions:
        # Guest checkouts under this e-mail or ID become the customer's (001).

        claim_guest_transactions(ctx)
    referrals.redeem_if_given(ctx)  # issue 20: the friend's referral code at opt-in


def profile(ctx: HandlerContext) -> None:
    """Update non-read-only built-in and custom attributes (and labels, referrer)."""
    apply_attributes(ctx)


def login(ctx: HandlerContext) -> None:
    ctx.customer.last_login_at = ctx.now


def verify(ctx: HandlerContext) -> None:
    """Completes a pending enrollment. Verifying an active customer again changes nothing."""
    _require(ctx, "verify")
    if ctx.customer.status == S.PENDING:
        _set_status(ctx, S.ACTIVE)
    else:
        ctx.result.notes.append("The customer was already verified.")


def suspend(ctx: HandlerContext) -> None:
    """Suspended customers still earn, but cannot spend or claim (Customer.can_spend)."""
    _require(ctx, "suspend")
    _set_status(ctx, S.SUSPENDED)


def unsuspend(ctx: HandlerContext) -> None:
    _require(ctx, "unsuspend")
    _set_status(ctx, S.ACTIVE)


def ban(ctx: HandlerContext) -> None:
    """Console only (the engine refuses other sources). Banned customers neither earn nor spend."""
    _require(ctx, "ban")
    _set_status(ctx, S.BANNED)


def unban(ctx: HandlerContext) -> None:
    _require(ctx, "unban")
    _set_status(ctx, S.ACTIVE if ctx.customer.optin_at else S.INACTIVE)


def opt_out(ctx: HandlerContext) -> None:
    """Leave the program: anonymize the profile and its history (customers.privacy)."""
    if ctx.customer.status == S.OPTED_OUT:  # unreachable: opted-out rows are never found
        raise ValidationError("The customer has already opted out.", field="customer")
    anonymize(ctx.customer, now=ctx.now, events=ctx.result.events)
