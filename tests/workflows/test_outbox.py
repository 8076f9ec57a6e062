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
    clock = _Clock()
    monkeypatch.setattr(outbox, "monotonic", clock)
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
            clock.now += outbox.SKIP_SECONDS * 2  # (after a held one, the next commits skip a while)
            outbox.schedule_drain()  # the free slot: queued (and run inline here)
        assert not PendingTrigger.objects.exists()
        assert cache.get(keys[0]) is None
    finally:
        cache.delete_many(keys)
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 2


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _held_everywhere(monkeypatch):
    """Every slot held (as by drains queued or running), on a cache shared as Redis would be;
    returns the slot keys and the list of takes tried."""
    monkeypatch.setattr(outbox, "coalescing", lambda: True)
    monkeypatch.setattr(outbox, "_held_seen_at", -1.0)
    keys = [outbox.SLOT_KEY.format(slot) for slot in range(outbox.slots())]
    for key in keys:
        cache.add(key, 1)
    tried = []
    real_take = outbox._take

    def take(slot):
        tried.append(slot)
        return real_take(slot)

    monkeypatch.setattr(outbox, "_take", take)
    return keys, tried


def test_a_commit_soon_after_a_held_slot_skips_the_round_trip(program, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(outbox, "monotonic", clock)
    keys, tried = _held_everywhere(monkeypatch)
    try:
        outbox.schedule_drain()
        assert len(tried) == 1  # tried a slot: held
        clock.now += outbox.SKIP_SECONDS / 2
        outbox.schedule_drain()
        outbox.schedule_drain()
        assert len(tried) == 1  # within the window: no round trip
        outbox.schedule_drain(force=True)
        assert len(tried) == 2  # a drain handing over never skips
        clock.now += outbox.SKIP_SECONDS * 1.5
        outbox.schedule_drain()
        assert len(tried) == 3  # the window is over: tries again
    finally:
        cache.delete_many(keys)


def test_a_drain_waits_longer_than_the_skip_before_its_last_look():
    assert outbox.LOOK_AGAIN_SECONDS > outbox.SKIP_SECONDS


def test_a_row_committed_without_a_take_after_the_slot_was_given_back_is_walked(program, anna, monkeypatch):
    """The case the wait is for: a commit that skipped its take (its process saw the slot held a
    moment ago) lands after the holder gave the slot back; the holder's last look, after the
    wait, still walks it."""
    workflow = _bonus_workflow()
    clock = _Clock()
    monkeypatch.setattr(outbox, "monotonic", clock)
    keys, tried = _held_everywhere(monkeypatch)
    order = []
    real_release = outbox.release
    monkeypatch.setattr(outbox, "release", lambda slot: (order.append("release"), real_release(slot)))

    def wait():
        order.append("wait")
        if order.count("wait") == 1:
            assert cache.get(keys[0]) is None  # the slot is free now
            factories.register("login")  # its commit skips the take (seen held just before)
            outbox.schedule_drain()

    monkeypatch.setattr(outbox, "wait_before_last_look", wait)
    try:
        outbox.schedule_drain()  # this process sees the slots held
        assert len(tried) == 1
        assert tasks.drain_outbox(slot=0) == 1  # the drain of slot 0: empty, gives back, waits
        # the commit during the wait tried no slot; the one other take: the drain holding its
        # slot again after its last look found the row
        assert tried[1:] == [0]
        assert order == ["release", "wait", "release", "wait"]  # found it, walked it, gave back
        assert not PendingTrigger.objects.exists()
    finally:
        cache.delete_many(keys)
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 1


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


def test_a_follow_up_stored_after_the_outbox_row_is_walked_too(program, anna):
    """On PostgreSQL the outbox row rides with the customer's UPDATE (one round trip); an event
    stored after it (an achievement completed by the counters sent in that same round trip) gets
    a row of its own, without the main event's modifier logs. Every event is named once."""
    from achievements.models import Achievement

    program.achievements = True
    program.save()
    Achievement.objects.create(
        api_name="first_login", title="First login", counts="events", action="login", target=1
    )
    on_login = _bonus_workflow()
    on_completion = make_workflow(
        chain(
            on_event("achievement_completed"), {"id": "tag", "type": "add_label", "config": {"label": "won"}}
        )
    )
    result = factories.register("login")
    login = result.event
    completed = Event.objects.get(action="achievement_completed", customer=anna)
    rows = list(PendingTrigger.objects.order_by("id"))
    named = [pk for row in rows for pk in row.event_ids]
    assert sorted(named) == sorted([login.pk, completed.pk])  # each once
    main = [row for row in rows if login.pk in row.event_ids]
    assert len(main) == 1 and main[0].main_event_id == login.pk
    if is_postgres():
        assert len(rows) == 2
        assert (rows[1].event_ids, rows[1].main_event_id, rows[1].modifier_logs) == ([completed.pk], None, {})
    assert tasks.drain_outbox() == 2
    assert not PendingTrigger.objects.exists()
    for workflow in (on_login, on_completion):
        assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.SUCCESS).count() == 1
