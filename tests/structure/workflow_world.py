"""The workflow objects of the URL walk's world: a campaign, a workflow with a version, and a run."""

import datetime as dt

from django.utils import timezone

from workflows import editing, logs
from workflows.models import Campaign, PendingTrigger, Workflow


def workflow_world(customer) -> dict:
    now = timezone.now()
    campaign = Campaign.objects.create(name="Walk", starts_at=now, ends_at=now + dt.timedelta(days=1))
    workflow = Workflow.objects.create(name="Walk")
    version = editing.save_graph(
        workflow,
        {
            "nodes": [
                {"id": "trigger", "type": "event_trigger", "config": {"action": "login"}},
                {"id": "a", "type": "add_label", "config": {"label": "walk"}},
            ],
            "edges": [{"from": "trigger", "output": "action", "to": "a"}],
        },
    )
    run, _ = logs.start_run(
        workflow=workflow, version=version, customer=customer, trigger="walk", now=now, occurrence="walk"
    )
    row = PendingTrigger.objects.create(environment="live", event_ids=[], created_at=now, available_at=now)
    return {"campaign": campaign, "workflow": workflow, "workflow_run": run, "pending_trigger": row}


def workflow_rows(customer) -> None:
    """Rows for the workflow FilterSet cases: two of each, differing in every filtered field."""
    now = timezone.now()
    weekend = Campaign.objects.create(name="Weekend", starts_at=now, ends_at=now + dt.timedelta(days=2))
    Campaign.objects.create(name="Spring", starts_at=now, ends_at=now + dt.timedelta(days=2))
    birthday = Workflow.objects.create(name="Birthday coupon")
    editing.save_graph(
        birthday,
        {
            "nodes": [
                {"id": "trigger", "type": "date_trigger", "config": {"repeat": "daily", "time": "07:00"}},
                {"id": "a", "type": "add_label", "config": {"label": "bday"}},
            ],
            "edges": [{"from": "trigger", "output": "on", "to": "a"}],
        },
    )
    editing.set_status(birthday, True)
    welcome = Workflow.objects.create(name="Welcome", campaign=weekend)
    version = editing.save_graph(
        welcome,
        {
            "nodes": [
                {"id": "trigger", "type": "event_trigger", "config": {"action": "opt_in"}},
                {"id": "a", "type": "add_label", "config": {"label": "new"}},
            ],
            "edges": [{"from": "trigger", "output": "action", "to": "a"}],
        },
    )
    for occurrence, status in (("x", "no_action"), ("y", "success")):
        run, _ = logs.start_run(
            workflow=welcome, version=version, customer=customer, trigger="t", now=now, occurrence=occurrence
        )
        run.status = status
        run.save()
    for attempts, failed_at in ((0, None), (3, None), (12, now)):
        PendingTrigger.objects.create(
            environment="live",
            event_ids=[],
            created_at=now,
            available_at=now,
            attempts=attempts,
            failed_at=failed_at,
        )
