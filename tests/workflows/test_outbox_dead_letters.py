"""The outbox's dead letters (workflows.outbox.failed, workflows.pending): a row is parked as failed
after OUTBOX_MAX_ATTEMPTS, its stored error carries no personal data, Retry now runs it once (a
run that partly applied does not apply twice), Discard records the reason and deletes it."""

import datetime as dt
import importlib

import pytest
from django.utils import timezone

from loyalty.audit.models import ChangeLogEntry
from loyalty.errors import BusinessRuleError, NotFound
from tests import factories
from workflows import outbox, pending, runner, tasks
from workflows.choices import RunStatus
from workflows.models import PendingTrigger, RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def two_step_workflow():
    """A login workflow with two actions: its run commits node by node (not in one transaction)."""
    return make_workflow(
        chain(
            on_event("login"),
            {"id": "bonus", "type": "point_add", "config": {"points": 10}},
            {"id": "tag", "type": "add_label", "config": {"label": "retried"}},
        )
    )


def broken_row(**fields) -> PendingTrigger:
    now = timezone.now()
    return PendingTrigger.objects.create(
        environment="live", event_ids=["not an id"], created_at=now, available_at=now, **fields
    )


def due_now(row: PendingTrigger) -> None:
    PendingTrigger.objects.filter(pk=row.pk).update(available_at=timezone.now())


def test_a_row_is_parked_as_failed_after_the_maximum_attempts(program, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = broken_row()
    for attempt in (1, 2):
        tasks.drain_outbox()
        row.refresh_from_db()
        assert (row.attempts, row.state, row.failed_at) == (attempt, "retrying", None)
        due_now(row)
    tasks.drain_outbox()
    row.refresh_from_db()
    assert (row.attempts, row.state) == (3, "failed") and row.failed_at is not None
    due_now(row)
    assert outbox.claim() == []  # a dead letter: no drain (nor the tick's recovery) takes it
    PendingTrigger.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    tasks.tick()
    row.refresh_from_db()
    assert row.attempts == 3
    assert pending.failed_count("live") == (1, False)
    assert pending.failed_count("sandbox") == (0, False)


def test_the_stored_error_names_the_type_and_place_never_the_message(program, caplog):
    try:
        raise ValueError("anna@example.com has no valid birth date")
    except ValueError as error:
        text = outbox.describe(error)
    assert text.startswith("ValueError at test_outbox_dead_letters.py:")
    assert "anna" not in text and "birth" not in text
    assert outbox.describe(NotFound("No customer 'anna@example.com'.")) == "NotFound 160404"
    row = broken_row()
    tasks.drain_outbox()
    row.refresh_from_db()
    assert row.error.startswith("ValueError at tasks.py:") and "not an id" not in row.error
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "loyalty.workflows")
    assert "ValueError at tasks.py:" in logged and "not an id" not in logged


def test_retry_now_runs_a_partly_applied_row_and_applies_each_step_once(
    program, anna, settings, monkeypatch, on_commit
):
    """The drain raised after the bonus was committed, before the label: the row failed and was
    parked; Retry now walks it again, finds the run and its bonus step, and adds only the label."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    workflow = two_step_workflow()
    original, calls = runner._run_action, []

    def crash_on_the_label_once(run, node, *args):
        calls.append(node["id"])
        if node["id"] == "tag" and calls.count("tag") == 1:
            raise RuntimeError("worker lost its database connection")
        return original(run, node, *args)

    monkeypatch.setattr(runner, "_run_action", crash_on_the_label_once)
    factories.register("login")
    tasks.drain_outbox()
    row = PendingTrigger.objects.get()
    assert row.state == "failed" and "RuntimeError" in row.error
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.RUNNING
    assert factories.live().spendable == 10  # the bonus is applied, the label is not
    assert list(RunStep.objects.filter(run=run).values_list("node", flat=True)) == ["bonus"]

    assert on_commit(lambda: pending.retry("live", [row.pk], reason="database is back")) == 1
    assert not PendingTrigger.objects.exists()  # the queued drain walked it and deleted it
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert calls == ["bonus", "tag", "tag"]  # the bonus was not run again
    customer = factories.live()
    assert customer.spendable == 10
    assert list(customer.labels.values_list("name", flat=True)) == ["retried"]
    entry = ChangeLogEntry.objects.get(action="pending_trigger_retry")
    assert (entry.reason, entry.customer_id, entry.object_repr) == (
        "database is back",
        customer.pk,
        f"pending trigger #{row.pk}",
    )


def test_retry_refuses_a_pending_row_and_an_unknown_one_and_changes_nothing(program):
    row = broken_row()
    with pytest.raises(BusinessRuleError):
        pending.retry("live", [row.pk], reason="why")
    with pytest.raises(NotFound):
        pending.retry("sandbox", [row.pk], reason="why")  # another environment's row
    with pytest.raises(NotFound):
        pending.discard("live", row.pk + 1, reason="why")
    assert not ChangeLogEntry.objects.exists()
    assert PendingTrigger.objects.get().attempts == 0


def test_retry_all_failed_takes_only_the_failed_rows(program, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    failed = [broken_row(), broken_row()]
    tasks.drain_outbox()
    waiting = broken_row(attempts=2, error="x")  # retrying: not "failed", left alone
    fresh = broken_row()
    assert pending.retry_failed("live", reason="fixed the node") == 2
    states = dict(PendingTrigger.objects.values_list("pk", "attempts"))
    assert states == {failed[0].pk: 0, failed[1].pk: 0, waiting.pk: 2, fresh.pk: 0}
    assert not PendingTrigger.objects.filter(failed_at__isnull=False).exists()
    entry = ChangeLogEntry.objects.get()
    assert entry.object_repr == "2 pending triggers" and entry.after == {"queued": 2}
    assert pending.retry_failed("live", reason="again") == 0


def test_discard_records_the_reason_and_deletes_the_row(program, anna):
    two_step_workflow()
    event = factories.register("login").event
    row = PendingTrigger.objects.get()
    pending.discard("live", row.pk, reason="duplicate login import")
    assert not PendingTrigger.objects.exists()
    entry = ChangeLogEntry.objects.get(action="pending_trigger_discard")
    assert entry.reason == "duplicate login import"
    assert entry.customer_id == factories.live().pk
    assert entry.before["events"] == [event.pk] and entry.after == {"discarded": row.pk}
    assert tasks.drain_outbox() == 0
    assert not WorkflowRun.objects.exists()


def test_the_migration_keeps_only_the_type_of_errors_stored_before(program):
    from django.apps import apps

    migration = importlib.import_module("workflows.migrations.0004_outbox_dead_letters")
    old = broken_row(attempts=2, error="ValueError: anna@example.com: no birth date")
    clean = broken_row()
    migration.scrub_errors(apps, None)
    assert PendingTrigger.objects.get(pk=old.pk).error == "ValueError"
    assert PendingTrigger.objects.get(pk=clean.pk).error == ""
