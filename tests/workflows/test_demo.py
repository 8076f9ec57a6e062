"""The demo workflows: valid, active, and with a run history made through the engine."""

import pytest

from tests import factories
from workflows.demo import seed_workflows
from workflows.models import Workflow, WorkflowRun

pytestmark = pytest.mark.django_db


def test_seed_workflows_makes_the_six_demo_workflows_and_their_runs(program, cast):
    for number in range(3):
        factories.enroll(f"Demo-{number}")
    made = seed_workflows(cast["administrator"])
    assert made["workflows"] == 6
    assert set(Workflow.objects.values_list("status", flat=True)) == {"active"}
    statuses = set(WorkflowRun.objects.values_list("status", flat=True))
    assert "interrupted" in statuses  # the under-18 opt-in
    assert statuses & {"success", "no_action"}  # the point events' runs (weekend bonus, fraud check)
    assert factories.counts()[0] == 3  # the teen's opt-in was refused: no customer
    assert seed_workflows(cast["administrator"])["workflows"] == 6  # idempotent by name
    assert Workflow.objects.count() == 6
