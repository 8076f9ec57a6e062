"""Webhooks under concurrency, on PostgreSQL (real threads, connections and row locks): workers
sending the same deliveries send each once and never exceed the site's limit; the same incoming
webhook-id arriving at once registers one event."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from events.engine import register_event
from events.models import Event
from loyalty.models import Program
from tests.loyalty.test_ledger_concurrency import run_at_once
from webhooks import worker
from webhooks.models import Delivery, IncomingEndpoint

from .conftest import make_site
from .receiver import Receiver

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _modules():
    program = Program.objects.get_or_create()[0]
    program.webhooks = program.incoming_webhooks = True
    program.save()


@pytest.mark.django_db(transaction=True)
def test_four_workers_on_the_same_deliveries_send_each_once_within_the_site_limit():
    _modules()
    with Receiver(lambda n: ("ok_after", 0.01)) as server:
        site = make_site(server.url, max_concurrency=2)
        now = timezone.now()
        ids = [
            Delivery.objects.create(
                site=site,
                source="workflow",
                msg_id=f"msg_c{i}",
                body="{}",
                next_attempt_at=now,
                created_at=now,
            ).pk
            for i in range(60)
        ]
        results = run_at_once(4, lambda i: worker.deliver(ids))
        assert not [r for r in results if isinstance(r, Exception)], results
        # The workers turned away by the limit leave their rows for the sweep.
        for _ in range(20):
            if not Delivery.objects.exclude(status="done").exists():
                break
            Delivery.objects.exclude(status="done").update(next_attempt_at=timezone.now())
            worker.deliver_due()
        received = [h["webhook-id"] for h, _, _ in server.accepted]
    assert sorted(received) == sorted(f"msg_c{i}" for i in range(60))  # each once, none lost
    assert 1 <= server.max_in_flight <= 2  # four workers, the site's limit of two held


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_id_arriving_at_once_registers_one_event():
    _modules()
    register_event(environment="live", customer="ada", action="opt_in", data={})
    IncomingEndpoint.objects.create(
        name="race",
        action="point_add",
        customer_expression="body.id",
        attributes={"points": "body.points"},
        auth_method="none",
    )
    body = json.dumps({"id": "ada", "points": 5})

    def post(index):
        return (
            Client()
            .post("/api/hooks/race", data=body, content_type="application/json", HTTP_WEBHOOK_ID="msg_race")
            .json()["status"]
        )

    statuses = run_at_once(6, post)
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 5, statuses
    assert Event.objects.filter(action="point_add").count() == 1
