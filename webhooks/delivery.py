"""Outgoing webhooks: what to send (subscriptions, the workflows' Webhook message, Resync), and
the dead-letter replay, the retention cleanup and Resync. Sending is webhooks.worker.

    engine (on commit) ─► dispatch_events(event ids) ─► Delivery rows (queued) ─► kick() ─► worker
    workflow action    ─► enqueue_message(site, path, body, customer, source) ──┘
    every minute: worker.deliver_due() sends the rows whose next_attempt_at has come

`msg_id` (the `webhook-id` header) is made once per message and never changes, so a receiver
de-duplicates retries and replays.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from customers.models import BUILTIN_ATTRIBUTES, Customer
from events.models import Event
from loyalty import configcache, expressions
from loyalty.errors import ModuleDisabled, NotFound, ValidationError
from loyalty.jsonable import jsonable
from loyalty.models import Program

from . import sending
from .choices import PENDING, DeliverySource, DeliveryStatus
from .models import (
    SUBSCRIPTIONS_CACHE_KEY,
    Delivery,
    IncomingRequest,
    Subscription,
    TrustedSite,
    WebhookSettings,
)

log = logging.getLogger("loyalty.webhooks")

SCRUBBED = "[anonymized]"  # webhooks.privacy writes it over an opted-out customer's messages

# --- what to send ---------------------------------------------------------------------------------


def _subscriptions() -> dict[tuple[str, str], list[int]]:
    """(environment, action or '*') -> active subscription ids, kept in process memory
    (configcache; Subscription.save() tells every process). The engine asks it after every event,
    so an installation without subscriptions pays one dictionary lookup."""

    def load():
        table: dict[tuple[str, str], list[int]] = {}
        for sub in Subscription.objects.filter(active=True, site__active=True):
            for action in sub.actions or []:
                table.setdefault((sub.environment, action), []).append(sub.pk)
        return table

    return configcache.get(SUBSCRIPTIONS_CACHE_KEY, load)


def after_event(result) -> None:
    """The engine's one hook, called inside register_event's transaction: when a subscription
    wants one of the stored events, dispatch them once the transaction commits (a rolled-back or
    dry-run event sends nothing)."""
    after_events([result])


def after_events(results) -> None:
    """`after_event` for each of many results (events.bulk: a run of batched events), looking
    the subscriptions up once instead of once per event."""
    table = _subscriptions()
    if not table or not Program.current().webhooks:
        return
    for result in results:
        ids = [
            e.pk
            for e in result.events
            if e.pk and ((e.environment, e.action) in table or (e.environment, "*") in table)
        ]
        if ids:
            transaction.on_commit(lambda ids=ids: dispatch_events(ids))


def after_event_set(environment: str, action: str, event_ids: list[int]) -> None:
    """`after_event` for one action stored for many customers at once (events.sets): when a
    subscription wants the action, dispatch the events once the transaction commits."""
    table = _subscriptions()
    if not table or not Program.current().webhooks:
        return
    if (environment, action) in table or (environment, "*") in table:
        transaction.on_commit(lambda: dispatch_events(event_ids))


def customer_context(customer: Customer | None) -> dict:
    if customer is None:
        return {}
    values = {name: getattr(customer, name, "") for name in BUILTIN_ATTRIBUTES}
    values.update(
        id=customer.customer_id,
        status=customer.status,
        score=customer.score,
        spendable=customer.spendable,
        custom=dict(customer.custom or {}),
    )
    return jsonable(values)


def event_context(event: Event) -> dict:
    return jsonable(
        {
            "id": event.pk,
            "action": event.action,
            "timestamp": event.timestamp,
            "effective_at": event.effective_at,
            "points": event.points,
            "source": event.source,
            "data": event.data,
            "transaction_id": event.transaction_id,
        }
    )


def standard_payload(event: Event, customer: Customer | None) -> str:
    """The payload of a subscription without a template (Standard Webhooks' type/timestamp/data)."""
    return json.dumps(
        {
            "type": event.action,
            "timestamp": jsonable(event.timestamp),
            "data": {
                "event": event_context(event),
                "customer": customer.customer_id if customer is not None else None,
                "environment": event.environment,
            },
        },
        ensure_ascii=False,
    )


def dispatch_events(event_ids: list[int]) -> list[int]:
    """Queue a delivery per (subscription wanting the event's action, event) and start sending.
    Runs after the event's transaction committed. A template that fails makes a `failed` delivery
    carrying the error (visible in the log, replayable after the template is fixed)."""
    table = _subscriptions()
    now = timezone.now()
    created = []
    events = Event.objects.filter(pk__in=event_ids).select_related("customer")
    subs = {s.pk: s for s in Subscription.objects.filter(active=True).select_related("site")}
    for event in events:
        wanted = table.get((event.environment, event.action), []) + table.get((event.environment, "*"), [])
        for sub_id in dict.fromkeys(wanted):
            sub = subs.get(sub_id)
            if sub is None:
                continue
            delivery = _delivery_for(sub, event, now)
            if delivery is not None:
                created.append(delivery.pk)
    kick([pk for pk in created])
    return created


def _render(sub: Subscription, event: Event) -> tuple[str, str]:
    """(path, body) of a subscription's message about an event; ExpressionError from a template."""
    context = {
        "event": event_context(event),
        "customer": customer_context(event.customer),
        "action": event.action,
        "environment": event.environment,
    }
    path = expressions.render(sub.path, context) if sub.path else ""
    if sub.payload_template.strip():
        return path, expressions.render(sub.payload_template, context, single_braces=False)
    return path, standard_payload(event, event.customer)


def _delivery_for(sub: Subscription, event: Event, now) -> Delivery | None:
    status, error, body, path = DeliveryStatus.QUEUED, "", "", ""
    try:
        path, body = _render(sub, event)
    except expressions.ExpressionError as exc:
        status, error = DeliveryStatus.FAILED, exc.message[:500]
    try:
        with transaction.atomic():
            return Delivery.objects.create(
                environment=event.environment,
                site=sub.site,
                subscription=sub,
                source=DeliverySource.SUBSCRIPTION,
                event=event,
                customer=event.customer,
                action=event.action,
                msg_id=new_msg_id(),
                path=path[:1000],
                body=body.replace("\x00", ""),
                status=status,
                last_error=error,
                next_attempt_at=now if status == DeliveryStatus.QUEUED else None,
                created_at=now,
            )
    except IntegrityError:  # dispatched already (the unique subscription + event constraint)
        return None


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def enqueue_message(
    site: TrustedSite | int | str,
    path: str,
    body: str,
    customer: Customer | None = None,
    source: str = DeliverySource.WORKFLOW,
    *,
    action: str = "",
    event: Event | None = None,
    msg_id: str = "",
) -> Delivery:
    """Queue one message to a trusted site and start sending it once the caller's transaction
    commits. The workflows' "Webhook message" action and Resync call this.

    site: a TrustedSite, its pk or its name (only trusted sites can be called); path: below the
    site's URL (already rendered; `..`, other hosts and schemes are refused); body: the rendered
    payload text (JSON for a JSON site; a JSON object for a form-encoded one); customer: whom it
    is about (the profile's Sync tab lists it; opt-out scrubs it); source: a DeliverySource value;
    msg_id: the webhook-id when the caller keys it (a workflow: run, version and node; unique, so a
    second call with it raises IntegrityError), else a new one.
    Returns the queued Delivery. Raises NotFound (no such active site) or ValidationError (a bad
    path or body), and stores nothing then."""
    if not Program.current().webhooks:
        raise ModuleDisabled("The webhooks module is disabled.", field="site")
    if not isinstance(site, TrustedSite):
        lookup = {"pk": site} if isinstance(site, int) else {"name": site}
        site = TrustedSite.objects.filter(**lookup).first()
    if site is None or not site.active:
        raise NotFound("No such active trusted site.", field="site")
    if source not in DeliverySource.values:
        raise ValidationError(f"Unknown delivery source {source!r}.", field="source")
    if not isinstance(body, str) or "\x00" in body:
        raise ValidationError("The body must be text without NUL characters.", field="body")
    try:
        sending.join_url(site.url, path)
        sending.encode_body(site, body)
    except sending.SendRefused as error:
        raise ValidationError(str(error), field="body" if "payload" in str(error) else "path") from None
    now = timezone.now()
    delivery = Delivery.objects.create(
        environment=getattr(customer, "environment", None) or (event.environment if event else "live"),
        site=site,
        source=source,
        event=event,
        customer=customer,
        action=action or (event.action if event else ""),
        msg_id=msg_id or new_msg_id(),
        path=path[:1000],
        body=body,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: kick([delivery.pk]))
    return delivery


def kick(ids: list[int]) -> None:
    """Start sending now (a django-q2 task; inline in tests). Anything not sent here is picked up
    by deliver_due() at its next_attempt_at."""
    if ids:
        async_task("webhooks.tasks.deliver", ids, task_name="webhook delivery")


# --- dead letters, replay, retention --------------------------------------------------------------


def replay(ids: Iterable[int]) -> int:
    """Send failed (or done) deliveries again with the same webhook-id, a fresh attempt budget and
    the site's current URL and secret; a subscription's delivery whose template failed is rendered
    again (after the template was fixed). Returns how many were queued."""
    now = timezone.now()
    queued = []
    with transaction.atomic():
        rows = (
            Delivery.objects.select_for_update(of=("self",))
            .filter(pk__in=list(ids), status__in=[DeliveryStatus.FAILED, DeliveryStatus.DONE])
            .exclude(body=SCRUBBED)  # an opted-out customer's messages are never sent again
            .select_related("subscription", "event__customer")
        )
        for delivery in rows:
            if not delivery.body and delivery.subscription is not None and delivery.event is not None:
                try:
                    fresh = _render(delivery.subscription, delivery.event)
                except expressions.ExpressionError as exc:
                    delivery.last_error = exc.message[:500]
                    delivery.save(update_fields=["last_error", "updated_at"])
                    continue
                delivery.path, delivery.body = fresh
            delivery.status = DeliveryStatus.QUEUED
            delivery.attempts = 0
            delivery.next_attempt_at = now
            delivery.completed_at = None
            delivery.claimed_until = None
            delivery.save()
            queued.append(delivery.pk)
        TrustedSite.objects.filter(deliveries__pk__in=queued).update(circuit_open_until=None)
        transaction.on_commit(lambda: kick(queued))
    return len(queued)


def cleanup(now=None) -> int:
    """Delete finished deliveries and received requests older than the retention period
    (WebhookSettings.retention_days, default 90, the reference's 7,776,000 s). Pending deliveries
    are kept whatever their age. Returns the number of log rows deleted."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=WebhookSettings.current().retention_days)
    deleted = 0
    while True:
        batch = list(
            Delivery.objects.filter(created_at__lt=cutoff)
            .exclude(status__in=PENDING)
            .values_list("pk", flat=True)[:1000]
        )
        if not batch:
            break
        deleted += Delivery.objects.filter(pk__in=batch).delete()[1].get("webhooks.Delivery", 0)
    while True:
        batch = list(
            IncomingRequest.objects.filter(received_at__lt=cutoff).values_list("pk", flat=True)[:1000]
        )
        if not batch:
            break
        deleted += IncomingRequest.objects.filter(pk__in=batch).delete()[0]
    return deleted


def resync(customer: Customer) -> Delivery:
    """000's Resync: send the configured customer fields to the marketing-automation site."""
    config = WebhookSettings.current()
    if config.sync_site is None:
        raise ValidationError(
            "No marketing-automation site is set: choose one in Settings → Webhooks.", field="sync_site"
        )
    context = customer_context(customer)
    fields = config.sync_fields or ["email", "first_name", "last_name"]
    payload = {"customer": customer.customer_id}
    for name in fields:
        payload[name] = context.get(name, context.get("custom", {}).get(name))
    path = expressions.render(config.sync_path, {"customer": context}) if config.sync_path else ""
    return enqueue_message(
        config.sync_site,
        path,
        json.dumps({"type": "customer.sync", "data": jsonable(payload)}, ensure_ascii=False),
        customer,
        DeliverySource.RESYNC,
        action="resync",
    )
