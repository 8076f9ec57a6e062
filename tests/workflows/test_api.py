"""Workflows over the signed API: reads, runs with steps, activate / inactivate, the Interrupt's code."""

import base64
import json

import pytest

from tests import factories
from workflows import editing
from workflows.models import WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def test_workflows_versions_runs_and_steps_are_readable(api, program, anna, on_commit):
    workflow = make_workflow(
        chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 3}})
    )
    on_commit(lambda: factories.register("login"))
    listed = api.get("/api/workflows").json()
    assert [w["name"] for w in listed["workflows"]] == ["Test workflow"]
    assert listed["workflows"][0]["event_type"] == "login" and listed["workflows"][0]["status"] == "active"
    detail = api.get(f"/api/workflows/{workflow.pk}").json()
    assert detail["graph"]["edges"] == [{"from": "trigger", "output": "action", "to": "bonus"}]
    assert api.get(f"/api/workflows/{workflow.pk}/versions").json()["versions"][0]["number"] == 1
    runs = api.get(f"/api/workflows/{workflow.pk}/runs").json()["runs"]
    assert [r["status"] for r in runs] == ["success"] and runs[0]["customer"] == "Anna-1"
    run = api.get(f"/api/workflow-runs/{runs[0]['id']}").json()
    step = run["steps"][0]
    assert (step["node"], step["output"]) == ("bonus", "success")
    assert step["idempotency_key"] == f"wf-run-{run['id']}-v{workflow.version_id}-bonus"
    assert api.get("/api/workflow-runs/999999").status_code == 404
    assert api.get("/api/workflows?status=nope").json()["error"]["code"] == 113400


def test_activate_and_inactivate(api, program):
    workflow = make_workflow(
        chain(on_event("login"), {"id": "a", "type": "add_label", "config": {"label": "x"}}), active=False
    )
    assert api.post(f"/api/workflows/{workflow.pk}/activate").json()["status"] == "active"
    assert api.post(f"/api/workflows/{workflow.pk}/inactivate").json()["status"] == "inactive"
    assert api.post("/api/workflows/424242/activate").status_code == 404


def test_the_interrupt_code_reaches_the_events_api(api, program):
    make_workflow(
        chain(
            on_event("opt_in"),
            {"id": "stop", "type": "interrupt", "config": {"code": 54321, "message": "Not today"}},
            branch="modifier",
        )
    )
    response = api.post("/api/events", {"customer": "Zed-1", "action": "opt_in", "data": {}})
    assert response.status_code == 422
    body = response.json()["error"]
    assert (body["code"], body["type"], body["message"]) == (54321, "InterruptException", "Not today")
    assert not factories.counts()[0]
    assert WorkflowRun.objects.get().status == "interrupted"


@pytest.mark.parametrize("value", [10**30, 2**63, -5, 0, True, 1.5])
@pytest.mark.parametrize("path", ["/api/workflows", "/api/workflows/{id}/runs", "/api/pending-triggers"])
def test_a_forged_cursor_is_a_400_on_after(api, program, path, value):
    """The workflow endpoints took any int (and true) from a cursor as a row ID and answered an
    empty page; like every other keyset endpoint they now refuse a cursor they did not return."""
    workflow = make_workflow(
        chain(on_event("login"), {"id": "a", "type": "add_label", "config": {"label": "x"}})
    )
    after = base64.urlsafe_b64encode(json.dumps([value]).encode()).decode().rstrip("=")
    response = api.get(f"{path.format(id=workflow.pk)}?after={after}")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (400, 113400, "after")


def test_every_version_is_reachable_page_by_page(api, program):
    """Only the newest 100 versions were answered, the older ones left out without a word."""
    workflow = make_workflow(
        chain(on_event("login"), {"id": "a", "type": "add_label", "config": {"label": "0"}})
    )
    for number in range(1, 105):
        editing.save_graph(
            workflow,
            chain(on_event("login"), {"id": "a", "type": "add_label", "config": {"label": str(number)}}),
        )
    numbers, after = [], ""
    while True:
        body = api.get(f"/api/workflows/{workflow.pk}/versions?limit=40{after}").json()
        numbers += [v["number"] for v in body["versions"]]
        if body["next"] is None:
            break
        after = f"&after={body['next']}"
    assert numbers == list(range(105, 0, -1))


def test_activation_over_the_api_is_in_the_change_log_naming_the_key(api, program):
    """The console's buttons wrote a change-log entry; the API's activate / inactivate left no trace."""
    from loyalty.audit.models import ChangeLogEntry

    workflow = make_workflow(
        chain(on_event("login"), {"id": "a", "type": "add_label", "config": {"label": "x"}}), active=False
    )
    api.post(f"/api/workflows/{workflow.pk}/activate")
    api.post(f"/api/workflows/{workflow.pk}/inactivate")
    entries = list(ChangeLogEntry.objects.order_by("id"))
    assert [(e.action, e.after) for e in entries] == [
        ("workflow_activate", {"status": "active"}),
        ("workflow_inactivate", {"status": "inactive"}),
    ]
    assert all("(API key shop)" in e.object_repr and e.user is None for e in entries)
