"""Bulk requests with an Idempotency-Key apply every item exactly once, even when the process
dies mid-batch: items commit one by one (the reference processes them individually), each with
its item record in the same transaction; the retry replays those and runs only the rest. And
`error_handling=pre-check` of the Entities API is all-or-nothing."""

import pytest

from customers.models import Customer
from events.api import views as event_views
from events.models import Event
from loyalty.api.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands for the worker dying: not an Exception, so no handler catches it."""


def die_at(monkeypatch, index):
    real = event_views.register_from_request
    calls = {"n": 0}

    def register(request, payload, **kwargs):
        calls["n"] += 1
        if calls["n"] == index + 1:
            raise Killed()
        return real(request, payload, **kwargs)

    monkeypatch.setattr(event_views, "register_from_request", register)
    return real


def batch(n=5):
    return {
        "events": [{"customer": f"b{i}", "action": "point_add", "data": {"points": 10 + i}} for i in range(n)]
    }


@pytest.fixture
def enrolled(api):
    for i in range(5):
        assert api.post("/api/events", json={"customer": f"b{i}", "action": "opt_in"}).status_code == 200


def test_a_batch_killed_mid_way_and_retried_with_its_key_applies_each_event_once(
    api, enrolled, monkeypatch, settings
):
    settings.API_IDEMPOTENCY_LEASE_SECONDS = 0  # SQLite: the dead request's claim lapses at once
    real = die_at(monkeypatch, 3)
    with pytest.raises(Killed):
        api.post("/api/events/bulk", json=batch(), headers={"Idempotency-Key": "bulk-1"})
    assert Event.objects.filter(action="point_add").count() == 3  # items 0-2 committed
    monkeypatch.setattr(event_views, "register_from_request", real)
    response = api.post("/api/events/bulk", json=batch(), headers={"Idempotency-Key": "bulk-1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["errors"] == 0 and len(body["results"]) == 5
    assert [e["points"] for r in body["results"] for e in r["events"]] == [10, 11, 12, 13, 14]
    assert [Customer.objects.get(customer_id=f"b{i}").spendable for i in range(5)] == [10, 11, 12, 13, 14]
    assert Event.objects.filter(action="point_add").count() == 5
    # and a third send replays the whole stored answer
    again = api.post("/api/events/bulk", json=batch(), headers={"Idempotency-Key": "bulk-1"})
    assert again.json() == body
    assert Event.objects.filter(action="point_add").count() == 5


@pytest.mark.parametrize("dies_at", [0, 1, 4])
def test_wherever_the_batch_dies_the_retry_completes_it_once(api, enrolled, monkeypatch, settings, dies_at):
    settings.API_IDEMPOTENCY_LEASE_SECONDS = 0
    real = die_at(monkeypatch, dies_at)
    with pytest.raises(Killed):
        api.post("/api/events/bulk", json=batch(), headers={"Idempotency-Key": f"k{dies_at}"})
    monkeypatch.setattr(event_views, "register_from_request", real)
    assert (
        api.post("/api/events/bulk", json=batch(), headers={"Idempotency-Key": f"k{dies_at}"}).status_code
        == 200
    )
    assert [Customer.objects.get(customer_id=f"b{i}").spendable for i in range(5)] == [10, 11, 12, 13, 14]


def test_a_failed_item_is_stored_zero_times_and_runs_again_on_retry(api, enrolled):
    body = batch(2)
    body["events"].append({"customer": "nobody-here", "action": "point_spend", "data": {"points": 1}})
    first = api.post("/api/events/bulk", json=body, headers={"Idempotency-Key": "with-error"}).json()
    assert first["errors"] == 1
    items = IdempotencyRecord.objects.filter(key__startswith="bulk-item:")
    assert items.count() == 2  # the applied items only


def test_without_a_key_nothing_extra_is_stored(api, enrolled):
    api.post("/api/events/bulk", json=batch())
    assert not IdempotencyRecord.objects.exists()


def test_entities_killed_mid_way_and_retried_apply_each_profile_change_once(
    api, enrolled, monkeypatch, settings
):
    from customers.api import views as customer_views

    settings.API_IDEMPOTENCY_LEASE_SECONDS = 0
    real = customer_views.apply_entity
    calls = {"n": 0}

    def apply(request, entity, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed()
        return real(request, entity, **kwargs)

    monkeypatch.setattr(customer_views, "apply_entity", apply)
    entities = {
        "entities": [
            {"method": "PUT", "type": "core/customer", "id": f"b{i}", "data": {"first_name": f"N{i}"}}
            for i in range(4)
        ]
    }
    with pytest.raises(Killed):
        api.post("/api/entities", json=entities, headers={"Idempotency-Key": "ent-1"})
    assert Event.objects.filter(action="profile").count() == 2
    monkeypatch.setattr(customer_views, "apply_entity", real)
    response = api.post("/api/entities", json=entities, headers={"Idempotency-Key": "ent-1"})
    assert response.status_code == 200 and response.json()["errors"] == 0
    assert Event.objects.filter(action="profile").count() == 4
    assert [Customer.objects.get(customer_id=f"b{i}").first_name for i in range(4)] == [
        "N0",
        "N1",
        "N2",
        "N3",
    ]


def test_pre_check_applies_all_or_nothing_even_when_an_entity_fails_after_the_check(
    api, enrolled, monkeypatch
):
    from customers.api import views as customer_views
    from loyalty.errors import ValidationError

    real = customer_views.apply_entity

    def apply(request, entity, *, dry_run=False):
        if not dry_run and entity["id"] == "b2":
            raise ValidationError("changed since the check", field="data.first_name")
        return real(request, entity, dry_run=dry_run)

    monkeypatch.setattr(customer_views, "apply_entity", apply)
    entities = {
        "error_handling": "pre-check",
        "entities": [
            {"method": "PUT", "type": "core/customer", "id": f"b{i}", "data": {"first_name": f"P{i}"}}
            for i in range(4)
        ],
    }
    body = api.post("/api/entities", json=entities).json()
    assert body["applied"] is False and body["errors"] == 1
    assert Event.objects.filter(action="profile").count() == 0
    assert not Customer.objects.filter(first_name__startswith="P").exists()
