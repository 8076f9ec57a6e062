"""Console changes to a customer: register the event and log it, or queue it for approval.

submit_change(...)   content approval on and the user is no approver -> a ChangeRequest
                     otherwise                                      -> register_change(...)
register_change(...) register_event(source=platform, admin_user=user, reason=...) and
                     audit.record(...) in one transaction
accept(request) / reject(request)   the approver's decision; only accept registers the event
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction

from events.choices import EventSource
from events.engine import register_event
from events.permissions import may_register
from loyalty import clock
from loyalty.context import EventResult
from loyalty.errors import BusinessRuleError
from loyalty.models import Program

from .log import record
from .models import ChangeRequest, RequestStatus

APPROVER_PERMISSION = "loyalty.approve_changes"


@dataclass
class Outcome:
    result: EventResult | None = None
    request: ChangeRequest | None = None

    @property
    def queued(self) -> bool:
        return self.request is not None


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def register_change(
    *,
    user,
    customer,
    action: str,
    data: dict | None = None,
    reason: str,
    account: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    log_action: str | None = None,
    environment: str | None = None,
) -> EventResult:
    """Register one event for a console user and append it to the change log. Raises EngineError;
    PermissionDenied when `user` may not register `action` from the console (events.permissions:
    the last line behind every console path, approvals included, which register as the requester).
    `customer` is a Customer, or an ID with `environment` (an opt_in creating the customer)."""
    if not may_register(user, action):
        raise PermissionDenied(f"{user} may not register {action!r} from the console.")
    environment = environment or customer.environment
    with transaction.atomic():
        result = register_event(
            environment=environment,
            customer=customer,
            action=action,
            data=data or {},
            account=account or None,
            source=EventSource.PLATFORM,
            admin_user=user,
            reason=reason,
        )
        seen_before = {
            "status": result.status_before,
            "balances": result.balances_before,
            "tiers": result.tiers_before,
        }
        seen_after = {
            "status": result.status_after,
            "balances": result.balances_after,
            "tiers": result.tiers_after,
        }
        changed_before, changed_after = _diff(seen_before, seen_after)
        changed_before.update(before or {})
        changed_after.update(after if after is not None else ({"data": data} if data else {}))
        record(
            user=user,
            action=log_action or action,
            environment=environment,
            customer=result.customer,
            reason=reason,
            before=changed_before,
            after=changed_after,
            event=result.event,
        )
    return result


def needs_approval(user) -> bool:
    return Program.current().content_approval and not user.has_perm(APPROVER_PERMISSION)


def submit_change(
    *, user, customer, action: str, data: dict | None = None, reason: str, account: str | None = None
) -> Outcome:
    """A manual point or event change: queued when content approval applies, else registered.
    PermissionDenied when `user` may not register `action` (events.permissions)."""
    if not may_register(user, action):
        raise PermissionDenied(f"{user} may not register {action!r} from the console.")
    if needs_approval(user):
        with transaction.atomic():
            change = ChangeRequest.objects.create(
                created_at=clock.now(),
                requested_by=user,
                environment=customer.environment,
                customer=customer,
                action=action,
                data=data or {},
                account=account or "",
                reason=reason,
            )
            record(
                user=user,
                action="change_request",
                environment=customer.environment,
                customer=customer,
                reason=reason,
                after={"request": change.pk, "action": action, "data": data or {}},
            )
        return Outcome(request=change)
    return Outcome(
        result=register_change(
            user=user, customer=customer, action=action, data=data, reason=reason, account=account
        )
    )


class AlreadyDecided(Exception):
    pass


def accept(change: ChangeRequest, *, approver, note: str = "") -> EventResult:
    """Register the requested event (as the requester, approved by `approver`). Raises EngineError:
    the request then stays pending so the approver can reject it."""
    with transaction.atomic():
        change = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        if change.status != RequestStatus.PENDING:
            raise AlreadyDecided(f"This request was already {change.get_status_display().lower()}.")
        if not may_register(change.requested_by, change.action):
            raise BusinessRuleError(
                f"{change.requested_by} may no longer register {change.action}; reject the request."
            )
        result = register_change(
            user=change.requested_by,
            customer=change.customer,
            action=change.action,
            data=change.data,
            reason=change.reason,
            account=change.account or None,
        )
        change.status = RequestStatus.ACCEPTED
        change.decided_by = approver
        change.decided_at = clock.now()
        change.decision_note = note
        change.event = result.event
        change.save()
        record(
            user=approver,
            action="change_request_accept",
            environment=change.environment,
            customer=change.customer,
            reason=note,
            after={"request": change.pk},
            event=result.event,
        )
    return result


def reject(change: ChangeRequest, *, approver, note: str) -> None:
    with transaction.atomic():
        change = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        if change.status != RequestStatus.PENDING:
            raise AlreadyDecided(f"This request was already {change.get_status_display().lower()}.")
        change.status = RequestStatus.REJECTED
        change.decided_by = approver
        change.decided_at = clock.now()
        change.decision_note = note
        change.save()
        record(
            user=approver,
            action="change_request_reject",
            environment=change.environment,
            customer=change.customer,
            reason=note,
            after={"request": change.pk},
        )
