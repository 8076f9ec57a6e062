"""Scheduled work of the points ledger: expire due lots and activate pending ones.

`expire_and_activate()` runs hourly as a django-q2 Schedule (created by the data migration
loyalty/0004_expiration_schedule; operators can also run `manage.py run_expiration`).
It never writes lots itself: for each customer with due lots it locks the customer row, re-reads
the due lots under that lock, and registers internal `point_activate` / `point_expire` events
(source "system") through the engine. Two runs at once are safe: the second waits for the lock,
then finds the lots already done, so each lot expires (or activates) exactly once.
Opted-out and merged-away (anonymized) profiles are skipped: the engine no longer registers
events for them.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction

from customers.models import Customer
from dataio import jobs
from dataio.choices import JobKind
from events.choices import EventSource
from events.engine import register_event
from loyalty.errors import Conflict, EngineError
from loyalty.ledger.accounts import account_by_id

from . import clock, tiers
from .choices import Environment
from .models import CustomerTier, PointLot, Program
from .models.ledger import LotStatus

log = logging.getLogger("loyalty.tasks")
BATCH = 500

# kind -> (action, lot status, date field, points of a lot)
KINDS = {
    "activate": ("point_activate", LotStatus.PENDING, "activates_at", lambda lot: lot.points),
    "expire": ("point_expire", LotStatus.ACTIVE, "expires_at", lambda lot: lot.remaining),
}


def due_lots(kind: str, now):
    _, status, field, _ = KINDS[kind]
    # indexes lot_due_activation / lot_due_expiry: (status, date)
    return PointLot.objects.filter(status=status, **{f"{field}__lte": now})


def _process_customer(customer_pk: int, kind: str, now) -> tuple[int, int]:
    """Register this customer's due events under its row lock. Returns (events, lots)."""
    action, _, _, points_of = KINDS[kind]
    events = lots_done = 0
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_pk).first()
        if customer is None:
            return 0, 0
        by_account = defaultdict(list)
        for lot in due_lots(kind, now).filter(customer=customer).order_by("pk"):
            by_account[lot.account_id].append(lot)
        for account_id, lots in sorted(by_account.items()):
            account = account_by_id(account_id)
            register_event(
                environment=customer.environment,
                customer=customer,
                action=action,
                data={"points": sum(points_of(lot) for lot in lots), "lots": [lot.pk for lot in lots]},
                account=account.code,
                internal=True,
                source=EventSource.SYSTEM,
            )
            events += 1
            lots_done += len(lots)
    return events, lots_done


def expire_and_activate(batch: int = BATCH, environments=None) -> dict[str, int]:
    """Activate due pending lots, then expire due active ones. Safe to run twice or concurrently.

    Each environment runs up to its own time: the sandbox's test clock."""
    counts = {"customers": 0, "events": 0, "activated_lots": 0, "expired_lots": 0, "errors": 0}
    key = f"expiry:{clock.now():%Y%m%dT%H%M%S.%f}"
    with jobs.running(JobKind.POINT_EXPIRY, key, label="Point expiry and activation") as job:
        for environment in environments or Environment.values:
            _expire_and_activate(batch, environment, clock.now(environment), counts)
        job.done, job.failed = counts["events"], counts["errors"]
    log.info("expire_and_activate: %s", counts)
    return counts


def _expire_and_activate(batch, environment, now, counts) -> None:
    program = Program.current()
    kinds = ["activate"] + (["expire"] if program.expiring_points else [])
    for kind in kinds:
        last = 0
        while True:
            customer_pks = list(
                due_lots(kind, now)
                .filter(
                    customer_id__gt=last,
                    customer__anonymized_at__isnull=True,
                    customer__environment=environment,
                )
                .order_by("customer_id")
                .values_list("customer_id", flat=True)
                .distinct()[:batch]
            )
            if not customer_pks:
                break
            for pk in customer_pks:
                try:
                    events, lots = _process_customer(pk, kind, now)
                except EngineError as error:  # one customer's trouble must not stop the run
                    log.warning("%s for customer %s failed: %s", kind, pk, error)
                    counts["errors"] += 1
                    continue
                counts["customers"] += 1 if events else 0
                counts["events"] += events
                counts["activated_lots" if kind == "activate" else "expired_lots"] += lots
            last = customer_pks[-1]


def review_tiers(batch: int = BATCH, environments=None) -> dict[str, int]:
    """Re-evaluate every customer whose tier expired, whose manual lock ended, or whose qualifying
    points left the window since the last runs (hourly, data migration
    loyalty/0007_tier_review_schedule). Each change is an internal `tier_review` event (source
    automation, its reasons on the event) with the resulting tier_up / tier_down follow-ups.
    Safe to run twice or concurrently: the review re-checks under the customer's lock and is
    refused (nothing stored) when nothing is due any more."""
    counts = {"customers": 0, "changed": 0, "skipped": 0, "errors": 0}
    if not Program.current().tiers:
        return counts
    with jobs.running(
        JobKind.TIER_REVIEW, f"tiers:{clock.now():%Y%m%dT%H%M%S.%f}", label="Tier review"
    ) as job:
        for environment in environments or Environment.values:
            _review_tiers(environment, clock.now(environment), counts)
        job.done, job.failed = counts["changed"], counts["errors"]
    log.info("review_tiers: %s", counts)
    return counts


def _review_tiers(environment, now, counts) -> None:
    # review_at (loyalty.tiers.next_review) is the earliest moment a row can change without
    # earning: its expiry, the end of its manual lock, or a tier point leaving the window.
    candidates = CustomerTier.objects.filter(review_at__lte=now).values("customer_id")
    customers = Customer.objects.filter(
        pk__in=candidates, anonymized_at__isnull=True, environment=environment
    )
    for customer in customers.order_by("pk"):
        counts["customers"] += 1
        rows = tiers.load_rows(customer)
        reasons = tiers.review_reasons(customer, rows, now)
        if not reasons:
            tiers.refresh_review_at(customer, rows, now)  # came early (see next_review): look later
            counts["skipped"] += 1
            continue
        try:
            register_event(
                environment=customer.environment,
                customer=customer,
                action="tier_review",
                reason=" ".join(reasons),
                source=EventSource.AUTOMATION,
                internal=True,
            )
            counts["changed"] += 1
        except Conflict:
            counts["skipped"] += 1  # a concurrent run did it first
        except EngineError as error:
            log.warning("tier review for customer %s failed: %s", customer.pk, error)
            counts["errors"] += 1
