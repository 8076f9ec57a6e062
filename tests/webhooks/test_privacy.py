"""Opt-out scrubs the webhook logs: what was sent about the customer, what it answered, and
received requests that named the customer (accepted or refused)."""

import json

from tests.factories import anna as make_anna
from tests.factories import register
from webhooks.models import Delivery, DeliveryAttempt, IncomingRequest

from . import factories
from .conftest import subscribe


def test_opt_out_scrubs_deliveries_attempts_and_received_requests(site, receiver, sent):
    subscribe(
        site,
        actions=["*"],
        payload_template='{"email": {{ customer.email | tojson }}, "who": {{ customer.id | tojson }}}',
    )
    sent(make_anna)
    endpoint = factories.IncomingEndpointFactory()
    refused = factories.IncomingRequestFactory(
        endpoint=endpoint, body='{"customer": "Anna-1", "email": "anna@example.com"}'
    )
    unrelated = factories.IncomingRequestFactory(endpoint=endpoint, body='{"customer": "Bob-2"}')
    assert "anna@example.com" in Delivery.objects.get().body
    sent(register, "opt_out", "Anna-1")
    texts = json.dumps(
        [
            list(Delivery.objects.values("body", "path", "last_response", "last_error")),
            list(DeliveryAttempt.objects.values("response", "url")),
            list(IncomingRequest.objects.filter(pk=refused.pk).values("body", "headers", "reason")),
        ]
    )
    assert "anna@example.com" not in texts and "Anna-1" not in texts
    assert Delivery.objects.filter(body="[anonymized]").exists()
    unrelated.refresh_from_db()
    assert unrelated.body == '{"customer": "Bob-2"}'


def test_pending_messages_of_an_opted_out_customer_are_not_sent_or_replayed(site, receiver, sent, settings):
    from webhooks import delivery

    anna = make_anna()
    row = delivery.enqueue_message(site, "", '{"email": "anna@example.com"}', anna)  # not committed: pending
    sent(register, "opt_out", "Anna-1")
    row.refresh_from_db()
    assert row.status == "failed" and "opted out" in row.last_error
    assert sent(delivery.replay, [row.pk]) == 0
    assert receiver.requests == []
