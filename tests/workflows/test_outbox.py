"""The action branches' outbox (workflows.outbox, workflows.tasks.drain_outbox): the row is written
with the event, a drain walks many rows, a row walked twice applies once, a failing row blocks
nothing, and the minute tick completes what a lost drain left."""

import datetime as dt

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from events.models import Event
from loyalty.errors import EngineError
from tests import factories
from tests.conftest import is_postgres
from workflows import outbox, tasks
from workflows.choices import RunStatus
from workflows.models import PendingTrigger, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _bonus_workflow():
    return make_workflow(
        chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 10}})
    )


def _age(row: PendingTrigger, seconds: int) -> None:
    """Make the row look `seconds` old and free (its drain lost, or its lease over)."""
    past = timezone.now() - dt.timedelta(seconds=seconds)
    PendingTrigger.objects.filter(pk=row.pk).update(created_at=past, available_at=past)


def test_the_outbox_row_is_written_in_the_events_transaction(program, anna, on_commit):
    workflow = _bonus_workflow()
    login = factories.register("login").event  # on-commit callbacks not run: no drain yet
    row = PendingTrigger.objects.get()
    assert (row.environment, row.event_ids, row.main_event_id, row.depth, row.origin) == (
        "live",
        [login.pk],
        login.pk,
        0,
        None,
    )
    assert not WorkflowRun.objects.exists()
    on_commit(lambda: factories.register("login"))  # its commit queues a drain: both rows walked
    assert not PendingTrigger.objects.exists()
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 2
    assert factories.live().spendable == 20


def test_no_row_when_the_event_rolls_back_or_is_refused(program, anna):
    _bonus_workflow()
    make_workflow(chain(on_event("point_sub"), {"id": "tag", "type": "add_label", "config": {"label": "x"}}))
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.register("login")
        assert PendingTrigger.objects.count() == 1
        raise RuntimeError("the caller's transaction rolls back")
    assert not PendingTrigger.objects.exists()
    with pytest.raises(EngineError):  # refused: not enough points
        factories.register("point_sub", data={"points": 1000})
    assert not PendingTrigger.objects.exists()
    assert not Event.objects.filter(action__in=["login", "point_sub"]).exists()


def test_an_interrupted_event_leaves_no_row(program, anna):
    _bonus_workflow()
    make_workflow(
        chain(
            on_event("login"),
            {"id": "stop", "type": "interrupt", "config": {"code": 12345, "message": "No."}},
            branch="modifier",
        ),
        name="Interrupter",
    )
    with pytest.raises(EngineError) as caught:
        factories.register("login")
    assert caught.value.code == 12345
    assert not PendingTrigger.objects.exists()
    assert not Event.objects.filter(action="login").exists()


def test_one_drain_walks_several_events(program, anna, django_capture_on_commit_callbacks):
    workflow = _bonus_workflow()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        for _ in range(3):
            factories.register("login")
    assert PendingTrigger.objects.count() == 3
    assert len(queued) >= 3  # the drains these commits would queue (none run: "lost")
    assert tasks.drain_outbox() == 3
    assert not PendingTrigger.objects.exists()
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 3
    assert factories.live().spendable == 30
    assert tasks.drain_outbox() == 0


def test_a_drain_reads_its_batchs_events_in_one_query(program, anna, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    workflow = _bonus_workflow()
    with django_capture_on_commit_callbacks(execute=False):
        logins = [factories.register("login").event for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        assert tasks.drain_outbox() == 3
    event_table = Event._meta.db_table
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f"FROM {connection.ops.quote_name(event_table)}" in q["sql"]
    ]
    assert len(reads) == 1 and all(str(login.pk) in reads[0] for login in logins)
    made = Event.objects.filter(action="point_add", workflow_id=workflow.pk)
    assert made.count() == 3 and factories.live().spendable == 30


def test_a_row_drained_twice_applies_once(program, anna):
    workflow = _bonus_workflow()
    factories.register("login")
    # A drain claims the row and walks it, then dies before deleting it.
    [row] = outbox.claim()
    tasks.run_for_events(
        row.environment, row.event_ids, row.depth, row.origin, row.main_event_id, row.modifier_logs
    )
    assert tasks.drain_outbox() == 0  # the row is leased to the dead drain
    assert PendingTrigger.objects.count() == 1
    _age(row, 0)  # the lease ended: the next drain takes it and applies nothing again
    assert tasks.drain_outbox() == 0
    assert not PendingTrigger.objects.exists()
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    assert Event.objects.filter(action="point_add", workflow_id=workflow.pk).count() == 1
    assert factories.live().spendable == 10


def test_a_failing_row_is_kept_and_blocks_nothing(program, anna):
    workflow = _bonus_workflow()
    now = timezone.now()
    broken = PendingTrigger.objects.create(
        environment="live", event_ids=["not an id"], created_at=now, available_at=now
    )
    factories.register("login")
    assert tasks.drain_outbox() == 1  # the broken row first (oldest), then the login's
    broken.refresh_from_db()
    assert broken.attempts == 1
    assert "ValueError" in broken.error
    assert broken.available_at >= now + dt.timedelta(seconds=outbox.RETRY_SECONDS)
    assert PendingTrigger.objects.get() == broken  # the login's row is done and gone
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 1
    assert tasks.drain_outbox() == 0  # no spinning on it: it waits for its pause
    broken.refresh_from_db()
    assert broken.attempts == 1
    _age(broken, 0)
    tasks.drain_outbox()
    broken.refresh_from_db()
    assert broken.attempts == 2
    assert broken.available_at >= timezone.now() + dt.timedelta(seconds=2 * outbox.RETRY_SECONDS - 5)


def test_the_tick_completes_what_a_lost_drain_left_exactly_once(program, anna, settings):
    settings.OUTBOX_GRACE = 120
    workflow = _bonus_workflow()
    factories.register("login")  # its drain is never run: lost with its worker
    row = PendingTrigger.objects.get()
    assert tasks.tick()["outbox"] == 0  # younger than the grace: a drain may still come
    assert PendingTrigger.objects.count() == 1
    _age(row, 121)
    assert tasks.tick()["outbox"] == 1
    assert tasks.tick()["outbox"] == 0
    assert not PendingTrigger.objects.exists()
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 1
    assert factories.live().spendable == 10


def test_a_killed_drains_rows_come_back_to_the_tick_when_its_lease_ends(program, anna, settings):
    settings.OUTBOX_GRACE = 0
    workflow = _bonus_workflow()
    factories.register("login")
    [row] = outbox.claim()  # a drain claimed the row and was killed before walking it
    assert tasks.tick()["outbox"] == 0  # leased: not taken twice
    PendingTrigger.objects.filter(pk=row.pk).update(available_at=timezone.now())
    assert tasks.tick()["outbox"] == 1
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    assert factories.live().spendable == 10


def test_drains_coalesce_on_a_shared_cache_and_give_their_slot_back(program, anna, monkeypatch):
    monkeypatch.setattr(outbox, "coalescing", lambda: True)  # as with Redis (this cache is per process)
    workflow = _bonus_workflow()
    keys = [outbox.SLOT_KEY.format(slot) for slot in range(outbox.slots())]
    for key in keys:  # every slot held by a drain queued or running
        cache.add(key, 1)
    try:
        outbox.schedule_drain()  # queues nothing (tests run tasks inline: it would drain)
        factories.register("login")
        outbox.schedule_drain()
        assert PendingTrigger.objects.count() == 1
        assert tasks.drain_outbox(slot=0) == 1  # the slot's drain sees the row
        assert cache.get(keys[0]) is None  # and gave its slot back when the outbox was empty
        factories.register("login")
        for _ in range(outbox.slots()):  # each commit tries the process's next slot: one is free
            outbox.schedule_drain()  # the free slot: queued (and run inline here)
        assert not PendingTrigger.objects.exists()
        assert cache.get(keys[0]) is None
    finally:
        cache.delete_many(keys)
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drains_never_take_the_same_rows_nor_wait_for_each_other(program, anna):
    if not is_postgres():
        pytest.skip("SKIP LOCKED: PostgreSQL")
    now = timezone.now()
    rows = [
        PendingTrigger.objects.create(environment="live", event_ids=[], created_at=now, available_at=now)
        for _ in range(3)
    ]
    db = settings.DATABASES["default"]
    other = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    try:
        # Another drain's claim, still in its transaction, holds the oldest row.
        other.execute("SELECT id FROM workflows_pendingtrigger WHERE id = %s FOR UPDATE", [rows[0].pk])
        claimed = outbox.claim()
        assert [row.pk for row in claimed] == [rows[1].pk, rows[2].pk]
    finally:
        other.rollback()
        other.close()
    assert [row.pk for row in outbox.claim()] == [rows[0].pk]


def test_opt_out_scrubs_the_modifier_logs_of_a_row_not_walked_yet(program, anna):
    make_workflow(
        chain(
            on_event("login"),
            {"id": "v", "type": "variable_assign", "config": {"name": "who", "value": "customer.email"}},
            branch="modifier",
        ),
        name="Modifier",
    )
    _bonus_workflow()
    factories.register("login")  # its drain not run: the row waits with the modifier's variables
    email = factories.live().email
    assert email and email in str(PendingTrigger.objects.get().modifier_logs)
    factories.register("opt_out")
    assert email not in str(list(PendingTrigger.objects.values_list("modifier_logs", flat=True)))
