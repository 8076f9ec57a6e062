"""Sending queued webhook messages, at least once, through outages of hours.

`deliver(ids)` (the django-q2 task's body) works in batches of up to BATCH deliveries per site:

1. claim (one transaction, the site row locked): skip the site while its circuit is open (its
   deliveries move to the reopening time, no attempt spent) or while `max_concurrency` workers are
   already sending to it (the rows move BUSY_DELAY later); otherwise mark the due, unclaimed rows
   with this batch's claim token and a lease (`claimed_until`: a worker that dies mid-batch
   leaves rows that the sweep takes again after the lease);
2. send them one by one (webhooks.sending: signed, guarded, keep-alive), outside any transaction;
   after WEBHOOK_BREAKER_FAILURES failures in a row the rest of the batch is not sent;
3. record (one transaction): the attempts (bulk insert), the deliveries (bulk update) and the
   site's failure count and circuit.

A failure schedules the next attempt from settings.WEBHOOK_RETRY_DELAYS (seconds after the 1st,
2nd, ... failure; the default: 12 attempts over ~16 h); after the last one the delivery is `failed`
(the dead-letter list) until someone replays it. Each retry (and each wait for an open circuit)
is also booked at its due time as a one-off django-q2 Schedule (`wake_at`, one per site and
second) that runs `webhooks.tasks.deliver_site_due`, so a 10-second retry does not wait for the
minute sweep;
`deliver_due()` (every minute) stays the safety net and takes every due row. The claim makes the
two harmless together: a row is sent by whichever comes first, once per attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_q.models import Schedule

from loyalty import fastsql

from . import secrets, sending
from .choices import PENDING, DeliveryStatus
from .models import EXCERPT_CHARS, Delivery, DeliveryAttempt, TrustedSite

log = logging.getLogger("loyalty.webhooks")

DEFAULT_RETRY_DELAYS = [10, 30, 120, 300, 900, 1800, 3600, 7200, 10800, 14400, 21600]
BUSY_DELAY = dt.timedelta(seconds=2)
BATCH = 100


def retry_delays() -> list[int]:
    return list(getattr(settings, "WEBHOOK_RETRY_DELAYS", DEFAULT_RETRY_DELAYS))


def breaker_failures() -> int:
    return int(getattr(settings, "WEBHOOK_BREAKER_FAILURES", 5))


def wake_at(site_id: int, when: dt.datetime) -> None:
    """Book `webhooks.tasks.deliver_site_due(site_id)` for `when` (rounded up to the second): a
    one-off django-q2 Schedule, deleted once it ran, and at most one per site and second however
    many rows wait for it (an outage's every kick finds the one already booked). django-q2's
    scheduler looks at Schedules every 30 s, so the task starts between `when` and about 30 s
    later. Call it in the transaction that set next_attempt_at."""
    if when.microsecond:
        when = when.replace(microsecond=0) + dt.timedelta(seconds=1)
    Schedule.objects.get_or_create(
        name=f"webhooks.wake site {site_id} at {when:%Y-%m-%dT%H:%M:%S}",
        defaults={
            "func": "webhooks.tasks.deliver_site_due",
            "args": repr(site_id),
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": when,
        },
    )


def _wake_retries(site_id: int, deliveries: list[Delivery]) -> None:
    """One wake-up per due second among the rows waiting for a retry."""
    for when in {d.next_attempt_at for d in deliveries if d.status == DeliveryStatus.RETRYING}:
        if when is not None:
            wake_at(site_id, when)


def _claim(site_id: int, ids: list[int], now) -> tuple[TrustedSite | None, list[Delivery], str]:
    """Claim the due, unclaimed deliveries among `ids` (one site's) for this worker."""
    with transaction.atomic():
        # The site row lock makes "how many are sending" and the claim one step across workers.
        site = TrustedSite.objects.select_for_update().get(pk=site_id)
        due = Delivery.objects.filter(pk__in=ids, status__in=PENDING, next_attempt_at__lte=now).exclude(
            claimed_until__gt=now
        )
        if not site.active:
            due.update(next_attempt_at=now + dt.timedelta(minutes=5), updated_at=now)
            return None, [], "site inactive"
        if site.circuit_open_until and site.circuit_open_until > now:
            if due.update(next_attempt_at=site.circuit_open_until, updated_at=now):
                wake_at(site.pk, site.circuit_open_until)
            return None, [], "circuit open"
        sending_now = Delivery.objects.filter(site=site, claimed_until__gt=now).aggregate(
            n=Count("claim", distinct=True)
        )["n"]
        if sending_now >= max(site.max_concurrency, 1):
            due.update(next_attempt_at=now + BUSY_DELAY, updated_at=now)
            return None, [], "site busy"
        token = uuid.uuid4().hex
        lease = now + dt.timedelta(seconds=(site.timeout_seconds + 5) * len(ids) + 30)
        claimed = list(due.select_for_update(skip_locked=True).order_by("pk"))
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            claim=token, claimed_until=lease, updated_at=now
        )
        return site, claimed, "claimed"


def _send(site: TrustedSite, delivery: Delivery, secret: str) -> sending.SendResult:
    now = timezone.now()
    try:
        url = sending.join_url(site.url, delivery.path)
        body = sending.encode_body(site, delivery.body)
        headers = {
            "Content-Type": site.content_type,
            "webhook-id": delivery.msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            **sending.auth_headers(site, secret, delivery.msg_id, now, body, url),
        }
        result = sending.post(url, body, headers, float(site.timeout_seconds))
        if result.status_code == 401 and site.auth_method == "oauth":
            sending.forget_token(site, secret)  # revoked or expired early: the retry asks again
        return result
    except sending.SendRefused as error:
        return sending.SendResult(url=site.url, error=str(error)[:500])
    except Exception as error:  # a broken JWT key or the like: logged, retried, never lost
        log.exception("webhook %s could not be prepared", delivery.msg_id)
        return sending.SendResult(url=site.url, error=f"{type(error).__name__}: {str(error)[:400]}")


def _apply(delivery: Delivery, result: sending.SendResult, now) -> DeliveryAttempt:
    delivery.attempts += 1
    delivery.claim, delivery.claimed_until = "", None
    delivery.last_status_code = result.status_code
    delivery.last_response = result.response[:EXCERPT_CHARS]
    delivery.last_error = result.error[:500] or (
        f"HTTP {result.status_code}" if not result.ok and result.status_code is not None else ""
    )
    delivery.duration_ms = result.duration_ms
    delivery.updated_at = now
    if result.ok:
        delivery.status, delivery.next_attempt_at, delivery.completed_at = DeliveryStatus.DONE, None, now
    else:
        delays = retry_delays()
        if delivery.attempts > len(delays):
            delivery.status, delivery.next_attempt_at, delivery.completed_at = (
                DeliveryStatus.FAILED,
                None,
                now,
            )
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + dt.timedelta(seconds=delays[delivery.attempts - 1])
    return DeliveryAttempt(
        delivery=delivery,
        number=delivery.attempts,
        at=now,
        url=result.url[:1000],
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        response=result.response[:EXCERPT_CHARS],
        error=result.error[:500],
    )


_FIELDS = [
    "attempts",
    "claim",
    "claimed_until",
    "last_status_code",
    "last_response",
    "last_error",
    "duration_ms",
    "updated_at",
    "status",
    "next_attempt_at",
    "completed_at",
]


def _send_batch(site: TrustedSite, claimed: list[Delivery], outcomes: dict[str, int]) -> None:
    secret = secrets.decrypt(site.secret_encrypted)
    sent, attempts, unsent = [], [], []
    failures_in_a_row, any_success = 0, False
    for delivery in claimed:
        if failures_in_a_row >= breaker_failures():
            unsent.append(delivery)
            continue
        result = _send(site, delivery, secret)
        now = timezone.now()
        attempts.append(_apply(delivery, result, now))
        sent.append(delivery)
        outcomes[delivery.status] = outcomes.get(delivery.status, 0) + 1
        if result.ok:
            failures_in_a_row, any_success = 0, True
        else:
            failures_in_a_row += 1
    now = timezone.now()
    with transaction.atomic():
        locked = TrustedSite.objects.select_for_update().get(pk=site.pk)
        failures = failures_in_a_row + (0 if any_success else locked.consecutive_failures)
        open_until = locked.circuit_open_until if not any_success else None
        if failures_in_a_row and failures >= breaker_failures():
            open_until = now + dt.timedelta(seconds=int(getattr(settings, "WEBHOOK_BREAKER_SECONDS", 60)))
        if (failures, open_until) != (locked.consecutive_failures, locked.circuit_open_until):
            TrustedSite.objects.filter(pk=site.pk).update(
                consecutive_failures=failures, circuit_open_until=open_until
            )
        DeliveryAttempt.objects.bulk_create(attempts)
        fastsql.update_many(sent, _FIELDS)
        _wake_retries(site.pk, sent)
        if unsent:
            Delivery.objects.filter(pk__in=[d.pk for d in unsent]).update(
                claim="", claimed_until=None, next_attempt_at=open_until or now, updated_at=now
            )
            wake_at(site.pk, open_until or now)
            outcomes["circuit open"] = outcomes.get("circuit open", 0) + len(unsent)


def deliver(ids: Iterable[int]) -> dict[str, int]:
    """Send the due ones among these deliveries once each; a count per outcome ("done",
    "retrying", "failed", or why a site's rows waited: "circuit open", "site busy", ...)."""
    outcomes: dict[str, int] = {}
    by_site: dict[int, list[int]] = {}
    for pk, site_id in Delivery.objects.filter(pk__in=list(ids)).values_list("pk", "site_id"):
        by_site.setdefault(site_id, []).append(pk)
    for site_id, site_ids in by_site.items():
        for start in range(0, len(site_ids), BATCH):
            site, claimed, why = _claim(site_id, site_ids[start : start + BATCH], timezone.now())
            if site is None:
                outcomes[why] = outcomes.get(why, 0) + 1
                continue
            if claimed:
                _send_batch(site, claimed, outcomes)
    return outcomes


def attempt(delivery_id: int) -> str:
    """Send one delivery if it is due; what happened to it (see deliver)."""
    outcomes = deliver([delivery_id])
    return next(iter(outcomes), "not due")


def due_ids(limit: int = 2000, site_id: int | None = None) -> list[int]:
    now = timezone.now()
    rows = Delivery.objects.filter(status__in=PENDING, next_attempt_at__lte=now)
    if site_id is not None:
        rows = rows.filter(site_id=site_id)
    return list(
        rows.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def deliver_due(limit: int = 2000) -> dict[str, int]:
    """The periodic sweep: send every due delivery (up to `limit` a run)."""
    return deliver(due_ids(limit))


def deliver_site_due(site_id: int, limit: int = 2000) -> dict[str, int]:
    """A booked wake-up (wake_at): send the site's due deliveries (up to `limit`)."""
    return deliver(due_ids(limit, site_id))
