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

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from loyalty.context import HandlerContext
from loyalty.errors import Conflict, MissingParameter, StatusForbids, ValidationError
from referrals import referrals
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
    "opt_in": {S.INACTIVE},
    "verify": {S.PENDING, S.ACTIVE},
    "suspend": {S.ACTIVE, S.PENDING},
    "unsuspend": {S.SUSPENDED},
    "ban": {S.INACTIVE, S.PENDING, S.ACTIVE, S.SUSPENDED},
    "unban": {S.BANNED},
}


# The reference's numbers (reference-behaviour.md §8.4) for a status that refuses the action.
REFERENCE_CODES = {"suspend": 114400, "unsuspend": 114600}
ALREADY_OPTED_IN = 112101  # "customer already opted in" (400)


def _require(ctx: HandlerContext, action: str) -> None:
    status = ctx.customer.status
    if status not in ALLOWED_FROM[action]:
        if action == "opt_in" and status in (S.PENDING, S.ACTIVE, S.SUSPENDED):
            raise ValidationError(
                "The customer has already opted in; send a profile event to change attributes.",
                field="customer",
                code=ALREADY_OPTED_IN,
            )
        error = Conflict if status in _TARGET.get(action, ()) else StatusForbids
        raise error(
            f"A customer with status {status!r} cannot be sent {action!r}.",
            field="customer",
            code=REFERENCE_CODES.get(action),
        )


def check_password_confirmation(data: dict) -> None:
    """Display API opt-in (001): `password` and `confirm_password` must match when either is sent."""
    password, confirm = data.get("password"), data.get("confirm_password")
    if (password or confirm) and password != confirm:
        raise ValidationError("'confirm_password' does not match 'password'.", field="data.confirm_password")


PASSWORD_MIN, PASSWORD_MAX = 1, 128  # the reference's own examples send "string"


def set_password(ctx: HandlerContext) -> None:
    """The Custom login module: `password` (with a matching `confirm_password`) of an opt_in or
    profile event becomes the customer's password hash (Django's hasher; the event stores
    neither value: the attributes are secret). 1 to 128 characters (the reference sets no minimum:
    its examples send "string"; a shop enforces its own policy on its sign-up form)."""
    check_password_confirmation(ctx.data)
    password = ctx.data.get("password")
    if password in (None, ""):
        return
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValidationError(
            f"The password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters.", field="data.password"
        )
    ctx.customer.password = make_password(password)


# Repeating an action on a customer already in its target status is a conflict, not a rule breach.
_TARGET = {"suspend": {S.SUSPENDED}, "unsuspend": {S.ACTIVE}, "ban": {S.BANNED}, "unban": {S.ACTIVE}}


def _set_status(ctx: HandlerContext, status: str) -> None:
    ctx.customer.status = status


def opt_in(ctx: HandlerContext) -> None:
    """Enroll (inactive -> active, or pending until verified) and write the attributes given.

    Opting in again while enrolled (pending, active, suspended) is refused with the reference's
    112101 "already opted in"; attributes change with `profile`. An opted-out customer's row is
    anonymized and never found, so the engine handed us a new profile that may reuse the ID.
    """
    _require(ctx, "opt_in")
    set_password(ctx)
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
    referrals.redeem_if_given(ctx)  # the friend's referral code at opt-in


def profile(ctx: HandlerContext) -> None:
    """Update non-read-only built-in and custom attributes (and labels, referrer), and the
    password when one is given (set_password)."""
    set_password(ctx)
    apply_attributes(ctx)


def login(ctx: HandlerContext) -> None:
    """Record the login; the first login of a calendar day (in the program's time zone) also
    registers a `daily_login` event, as the reference's `/customers/-/login` does (§8.2). "First
    of the day" is read from the previous `last_login_at`, which only this handler sets: no query,
    and the customer's row is locked, so two concurrent logins write one daily_login."""
    previous = ctx.customer.last_login_at
    ctx.customer.last_login_at = ctx.now
    if previous is None or timezone.localdate(previous) < timezone.localdate(ctx.now):
        ctx.emit("daily_login", parent=ctx.event)


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
