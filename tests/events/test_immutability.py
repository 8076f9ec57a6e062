"""Events change only in the three documented ways; the model and (PostgreSQL) the database refuse
everything else."""

import pytest
from django.db import DatabaseError, connection, transaction

from events.immutability import Change, EventImmutableError, allow
from events.models import Event
from tests.factories import enroll

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs the PostgreSQL trigger")


@pytest.fixture
def event(program):
    enroll("Anna-1", first_name="Anna")
    return Event.objects.get(action="opt_in")


def test_saving_a_stored_event_is_refused(event):
    event.reason = "rewritten"
    with pytest.raises(EventImmutableError):
        event.save()
    assert Event.objects.get(pk=event.pk).reason == ""


def test_updating_events_is_refused(event):
    with pytest.raises(EventImmutableError):
        Event.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(EventImmutableError):
        Event.objects.bulk_update([event], ["reason"])


def test_deleting_events_is_refused(event):
    with pytest.raises(EventImmutableError):
        event.delete()
    with pytest.raises(EventImmutableError):
        Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(EventImmutableError), transaction.atomic(), allow(Change.ANONYMIZE):
        event.delete()
    assert Event.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("change", list(Change))
def test_a_documented_change_may_update(event, change):
    field, value = {
        Change.EXPIRATION: ("expires_at", event.timestamp),
        Change.ANONYMIZE: ("data", {"_anonymized": True}),
        Change.MERGE: ("customer", enroll("Bob-1")),
    }[change]
    with transaction.atomic(), allow(change):
        Event.objects.filter(pk=event.pk).update(**{field: value})
    event.refresh_from_db()
    assert getattr(event, field) == value


def test_the_permission_ends_with_the_block(event):
    with transaction.atomic():
        with allow(Change.ANONYMIZE):
            pass
        with pytest.raises(EventImmutableError):
            Event.objects.filter(pk=event.pk).update(reason="rewritten")


@postgres_only
def test_the_database_refuses_a_raw_update(event):
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET reason = 'x' WHERE id = %s", [event.pk])
    assert Event.objects.get(pk=event.pk).reason == ""


@postgres_only
def test_the_database_refuses_a_raw_delete_even_inside_a_documented_change(event):
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('loyalty.event_change', 'anonymize', true)")
            cursor.execute("DELETE FROM events_event WHERE id = %s", [event.pk])
    assert Event.objects.filter(pk=event.pk).exists()


@postgres_only
@pytest.mark.parametrize(
    "change, sql",
    [
        ("expiration", "UPDATE events_event SET points = 999 WHERE id = %s"),
        ("merge", "UPDATE events_event SET data = '{}' WHERE id = %s"),
        ("anonymize", "UPDATE events_event SET customer_id = NULL WHERE id = %s"),
        ("something", "UPDATE events_event SET expires_at = now() WHERE id = %s"),
    ],
)
def test_each_change_may_only_touch_its_own_columns(event, change, sql):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('loyalty.event_change', %s, true)", [change])
        cursor.execute(sql, [event.pk])
    assert Event.objects.get(pk=event.pk).points == 0


@postgres_only
def test_the_database_allows_the_documented_change_with_its_setting(event):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('loyalty.event_change', 'expiration', true)")
        cursor.execute("UPDATE events_event SET expires_at = now() WHERE id = %s", [event.pk])
    assert Event.objects.get(pk=event.pk).expires_at is not None


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_setting_is_transaction_local(event):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('loyalty.event_change', 'expiration', true)")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET expires_at = now() WHERE id = %s", [event.pk])
