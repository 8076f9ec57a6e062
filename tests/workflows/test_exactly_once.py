"""Exactly-once effects under at-least-once delivery: the same task twice, and a worker killed mid-run."""

import pytest

from events.models import Event
from tests import factories
from workflows import runner, tasks
from workflows.choices import RunStatus
from workflows.models import RunStep, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _bonus_graph():
    return chain(
        on_event("login"),
        {"id": "first", "type": "point_add", "config": {"points": 10}},
        {"id": "second", "type": "add_label", "config": {"label": "seen"}},
    )


def test_the_same_task_delivered_twice_applies_once(program, anna, on_commit):
    workflow = make_workflow(_bonus_graph())
    login = factories.register("login").event  # no on_commit: no drain; its walk is run by hand below
    for _delivery in range(2):
        tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    assert Event.objects.filter(action="point_add", workflow_id=workflow.pk).count() == 1
    assert factories.live().spendable == 10


def test_a_run_killed_after_its_first_action_resumes_without_repeating_it(program, anna):
    workflow = make_workflow(_bonus_graph())
    login = factories.register("login").event
    tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    run = WorkflowRun.objects.get(workflow=workflow)
    # The worker "died" after the first node committed: the second node's step and the run's end are lost.
    RunStep.objects.filter(run=run, node="second").delete()
    WorkflowRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, finished_at=None)
    factories.register("profile", data={"labels": []})  # undo the label so the replay has work to do
    tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert Event.objects.filter(action="point_add", workflow_id=workflow.pk).count() == 1
    assert list(factories.live().labels.values_list("name", flat=True)) == ["seen"]


def test_replaying_a_finished_run_changes_nothing(program, anna, on_commit):
    workflow = make_workflow(_bonus_graph())
    on_commit(lambda: factories.register("login"))
    run = WorkflowRun.objects.get(workflow=workflow)
    events = Event.objects.count()
    runner.execute(run)
    assert Event.objects.count() == events


def test_a_workflow_never_triggers_itself_and_depth_is_bounded(program, anna, on_commit, settings):
    settings.WORKFLOW_MAX_DEPTH = 3
    self_loop = make_workflow(
        chain(on_event("point_add"), {"id": "again", "type": "point_add", "config": {"points": 1}})
    )
    on_commit(lambda: factories.register("point_add", data={"points": 5}))
    assert Event.objects.filter(workflow_id=self_loop.pk).count() == 1  # not re-triggered by its own event
    # Two workflows feeding each other stop at the configured depth.
    ping = make_workflow(
        chain(
            on_event("login"),
            {"id": "p", "type": "trigger_event", "config": {"action": "profile", "data": {"city": "A"}}},
        ),
        name="ping",
    )
    pong = make_workflow(
        chain(on_event("profile"), {"id": "q", "type": "trigger_event", "config": {"action": "login"}}),
        name="pong",
    )
    on_commit(lambda: factories.register("login"))
    made = Event.objects.filter(workflow_id__in=[ping.pk, pong.pk]).count()
    assert made == 3  # login -> profile (1) -> login (2) -> profile (3), then the depth limit


def test_remove_tier_and_campaign_bonus_apply_once_when_delivered_twice(program, anna):
    """The effect key (run, version, node) of the new action nodes: a second delivery replays the
    recorded steps; the campaign's counters count the bonus once."""
    from loyalty.models import CustomerTier

    from .conftest import make_campaign

    program.tiers = True
    program.save()
    structure = factories.TierStructureFactory()
    factories.TierFactory(structure=structure, code="silver", threshold=0)
    factories.TierFactory(structure=structure, code="gold", threshold=1000)
    factories.register("tier_change", data={"tier": "gold"})
    campaign = make_campaign()
    workflow = make_workflow(
        chain(
            on_event("login"),
            {"id": "bonus", "type": "campaign_bonus", "config": {"points": 25}},
            {"id": "out", "type": "remove_tier", "config": {}},
        ),
        campaign=campaign,
    )
    login = factories.register("login").event
    for _delivery in range(2):
        tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    made = Event.objects.filter(workflow_id=workflow.pk)
    assert sorted(made.values_list("action", flat=True)) == ["campaign_bonus", "tier_remove"]
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.SUCCESS
    assert {s.node: s.output for s in RunStep.objects.filter(run=run)} == {
        "bonus": "success",
        "out": "success",
    }
    campaign.refresh_from_db()
    assert (campaign.distributed_points, campaign.participants) == (25, 1)
    assert factories.live().spendable == 25 and not CustomerTier.objects.exists()


def test_a_one_action_run_commits_as_a_whole_and_its_redelivery_applies_it_once(program, anna, monkeypatch):
    from workflows import logs

    workflow = make_workflow(
        chain(
            on_event("login"),
            {"id": "f", "type": "variable_assign", "config": {"name": "seen", "value": "1"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 10}},
        )
    )
    assert tasks.single_commit(workflow.version)
    two_actions = make_workflow(_bonus_graph(), name="Two actions", active=False)
    assert not tasks.single_commit(two_actions.version)
    login = factories.register("login").event
    finish = logs.finish

    def dies(*args, **kwargs):  # the worker dies after the action, before the run's outcome
        raise SystemExit("killed")

    monkeypatch.setattr(logs, "finish", dies)
    with pytest.raises(SystemExit):
        tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    # Nothing of the run is left: no run row, no step, no event, no points.
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()
    assert not Event.objects.filter(workflow_id=workflow.pk).exists()
    assert factories.live().spendable == 0
    monkeypatch.setattr(logs, "finish", finish)
    for _delivery in range(2):
        tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == RunStatus.SUCCESS
    assert set(RunStep.objects.filter(run=run).values_list("node", flat=True)) == {"f", "bonus"}
    assert Event.objects.filter(action="point_add", workflow_id=workflow.pk).count() == 1
    assert factories.live().spendable == 10


def test_a_one_transaction_run_writes_its_steps_with_the_outcome_and_links_the_event(program, anna):
    bonus = make_workflow(
        chain(
            on_event("login"),
            {"id": "f", "type": "variable_assign", "config": {"name": "seen", "value": "1"}},
            {"id": "bonus", "type": "point_add", "config": {"points": 10}},
        ),
        name="Bonus",
    )
    refused = make_workflow(
        chain(on_event("login"), {"id": "take", "type": "point_sub", "config": {"points": 1000}}),
        name="Refused",
    )
    assert tasks.single_commit(bonus.version) and tasks.single_commit(refused.version)
    login = factories.register("login").event
    assert tasks.run_for_events("live", [login.pk], 0, None, login.pk, {}) == 2

    run = WorkflowRun.objects.get(workflow=bonus)
    steps = {step.node: step for step in RunStep.objects.filter(run=run)}
    made = Event.objects.get(action="point_add", workflow_id=bonus.pk)
    assert run.status == RunStatus.SUCCESS and set(steps) == {"f", "bonus"}
    assert steps["bonus"].event_id == made.pk and steps["bonus"].output == "success"
    assert steps["f"].output == "success" and steps["f"].event_id is None

    failed = WorkflowRun.objects.get(workflow=refused)
    step = RunStep.objects.get(run=failed)
    assert failed.status == RunStatus.ERROR and step.output == "failure" and step.error
    assert failed.error == step.error[:2000]
    assert not Event.objects.filter(workflow_id=refused.pk).exists()
    assert factories.live().spendable == 10


def _savepoints(login) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    return sum(1 for query in queries.captured_queries if query["sql"].startswith("SAVEPOINT"))


def test_a_one_transaction_single_register_action_takes_no_savepoint_of_its_own(program, anna, monkeypatch):
    """The engine's savepoint is the action's: one round trip pair less per action event."""
    workflow = make_workflow(
        chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 5}})
    )
    assert tasks.single_commit(workflow.version)
    without = _savepoints(factories.register("login").event)
    monkeypatch.setattr(runner, "SINGLE_REGISTER", frozenset())  # as before: a savepoint per action
    with_own = _savepoints(factories.register("login").event)
    assert with_own == without + 1
    assert Event.objects.filter(action="point_add", workflow_id=workflow.pk).count() == 2
    assert factories.live().spendable == 10


def test_a_single_register_action_refused_after_its_handler_wrote_leaves_nothing(program, anna):
    """An Interrupt on the action's own event comes after the ledger was written (the modifier
    branch runs before the event is stored): without the action's savepoint, the engine's own
    savepoint must still undo every write, and the run ends in error with its failure step."""
    bonus = make_workflow(
        chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 5}})
    )
    make_workflow(
        chain(
            on_event("point_add"),
            {"id": "stop", "type": "interrupt", "config": {"code": 54321, "message": "No points today"}},
            branch="modifier",
        ),
        name="Stop points",
    )
    assert tasks.single_commit(bonus.version)
    login = factories.register("login").event
    tasks.run_for_events("live", [login.pk], 0, None, login.pk, {})
    run = WorkflowRun.objects.get(workflow=bonus)
    step = RunStep.objects.get(run=run, node="bonus")
    assert run.status == RunStatus.ERROR and step.output == "failure" and "No points today" in step.error
    assert not Event.objects.filter(action="point_add").exists()
    customer = factories.live()
    assert customer.spendable == 0 and customer.score == 0
    assert not customer.point_lots.exists()


def test_every_action_is_classified_for_its_savepoint():
    """workflows.actions.SINGLE_REGISTER (no savepoint of its own in a one-transaction run) is a
    list of names, OWN_SAVEPOINT the rest: a new action must be put in one of them on purpose."""
    from workflows.actions import ACTIONS, OWN_SAVEPOINT, SINGLE_REGISTER

    assert not SINGLE_REGISTER & OWN_SAVEPOINT
    assert set(SINGLE_REGISTER | OWN_SAVEPOINT) == set(ACTIONS)
