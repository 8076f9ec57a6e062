"""Workflows in a real browser: build the birthday workflow on the Drawflow canvas (On a date trigger,
Assign coupon, connected and configured through the schema forms), save, activate, advance the
sandbox clock, then see the coupon and the run log; build a filter with the condition builder, save it
broken, see the error on the node and its field, undo a canvas change. Screenshots go to docs/user-guide/img/."""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coupons import pools
from coupons.models import Coupon, CouponPool
from events.engine import register_event
from loyalty import clock, sandbox
from loyalty.models import Program
from tests.e2e.helpers import screenshot
from workflows import editing
from workflows.models import PendingTrigger, Workflow, WorkflowRun

pytestmark = pytest.mark.browser


@pytest.fixture
def birthday_world(transactional_db):
    program = Program.current()
    program.workflows = True
    program.coupons = True
    program.save()
    pool = CouponPool.objects.create(name="Birthday gifts", value=10)
    pools.generate_codes(pool, 5, "GIFT-????")
    tomorrow = (clock.now("sandbox").astimezone(clock.zone()) + dt.timedelta(days=1)).date()
    for cid, birth in (
        ("bea-1", tomorrow.replace(year=1990)),
        ("carl-2", tomorrow.replace(year=1985) - dt.timedelta(days=40)),
    ):
        register_event(
            environment="sandbox",
            customer=cid,
            action="opt_in",
            data={"first_name": cid.split("-")[0].title(), "birth_date": birth.isoformat()},
        )
    return pool


def _node(page, node_id):
    return page.locator(".drawflow-node", has_text=node_id)


def test_build_the_birthday_workflow_and_see_the_coupon_after_the_clock_moves(console_page, birthday_world):
    page = console_page("program_manager")
    page.goto(page.live_url("/"))
    page.click("[data-testid=env-sandbox]")
    page.goto(page.live_url("/workflows/add/"))
    expect(page.locator("[data-workflow-editor].ready")).to_be_visible()
    page.fill("#id_name", "Birthday coupon")
    page.click("[data-add-node=date_trigger]")
    _node(page, "trigger").click()
    form = page.locator("[data-testid=node-config] [data-node-type=date_trigger]")
    expect(form).to_be_visible()
    form.locator("[name=cfg-repeat]").select_option("daily")
    form.locator("[name=cfg-time]").fill("00:05")
    form.locator("[data-condition-tree=prefilter] [data-testid=group-conditions]").fill("birth_date:this_day")
    page.click("[data-add-node=assign_coupon]")
    _node(page, "assign-coupon-1").click()
    coupon_form = page.locator("[data-testid=node-config] [data-node-type=assign_coupon]")
    expect(coupon_form).to_be_visible()
    coupon_form.locator("[name=cfg-pool]").fill(str(birthday_world.pk))
    _node(page, "trigger").locator(".output_1").drag_to(_node(page, "assign-coupon-1").locator(".input_1"))
    screenshot(page, "workflow-editor")
    page.click("[data-testid=save-workflow]")
    expect(page.locator("[data-testid=workflow-summary]")).to_be_visible()
    workflow = Workflow.objects.get(name="Birthday coupon")
    assert workflow.version.graph["edges"] == [{"from": "trigger", "output": "on", "to": "assign-coupon-1"}]
    assert workflow.version.graph["nodes"][0]["config"]["prefilter"] == {
        "match": "all",
        "conditions": [
            {"match": "all", "conditions": [{"field": "birth_date", "operator": "this_day", "value": ""}]}
        ],
    }
    page.click("[data-testid=activate]")
    expect(page.locator("[data-testid=workflow-status]")).to_have_text("Active")

    sandbox.advance(by=dt.timedelta(days=1))  # the sandbox's tomorrow: Bea's birthday
    assert list(Coupon.objects.filter(customer__customer_id="bea-1").values_list("pool_id", flat=True)) == [
        birthday_world.pk
    ]
    assert not Coupon.objects.filter(customer__customer_id="carl-2").exists()
    page.goto(page.live_url(f"/workflows/{workflow.pk}/"))
    expect(page.locator("[data-testid=run-status]").first).to_have_text("Success")
    screenshot(page, "workflow-log")
    run = WorkflowRun.objects.get(workflow=workflow)
    page.goto(page.live_url(f"/workflows/runs/{run.pk}/"))
    expect(page.locator("[data-workflow-diagram].ready .wf-passed").first).to_be_visible()
    screenshot(page, "workflow-run")


def test_a_filter_built_with_the_condition_builder_shows_its_error_on_the_node_and_undo(
    console_page, transactional_db
):
    program = Program.current()
    program.workflows = True
    program.save()
    page = console_page("program_manager")
    page.goto(page.live_url("/workflows/add/"))
    expect(page.locator("[data-workflow-editor].ready")).to_be_visible()
    page.fill("#id_name", "Big web orders")
    undo = page.locator("[data-testid=undo]")
    expect(undo).to_be_disabled()
    _node(page, "trigger").click()
    page.locator("[data-testid=node-config] [name=cfg-action]").fill("point_add")
    page.click("[data-add-node=filter_event]")
    _node(page, "filter-event-1").click()
    builder = page.locator("[data-testid=node-config] [data-condition-tree=conditions]")
    expect(builder).to_be_visible()
    builder.locator("[data-testid=group-conditions]").fill(
        "points:ge:500\npoints>5"
    )  # the 2nd line is broken
    builder.locator("[data-testid=add-group]").click()
    expect(builder.locator("[data-testid=condition-group]")).to_have_count(2)
    builder.locator("[data-testid=group-conditions]").nth(1).fill("store:eq:web")
    builder.locator("[data-testid=tree-match]").select_option("any")
    page.click("[data-add-node=add_label]")
    _node(page, "add-label-1").click()
    page.locator("[data-testid=node-config] [name=cfg-label]").fill("big-web-order")
    _node(page, "trigger").locator(".output_2").drag_to(_node(page, "filter-event-1").locator(".input_1"))
    _node(page, "filter-event-1").locator(".output_1").drag_to(_node(page, "add-label-1").locator(".input_1"))
    _node(page, "filter-event-1").click()
    expect(builder).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "workflow-condition-builder")

    page.click("[data-testid=save-workflow]")  # refused: the broken line is named on the node and its field
    expect(page.locator("[data-testid=graph-errors]")).to_contain_text("is not a condition")
    broken = _node(page, "filter-event-1")
    expect(broken).to_have_class(re.compile("wf-node-error"))
    expect(broken.locator("[data-testid=node-errors]")).to_contain_text("“points>5” is not a condition")
    broken.click()
    expect(page.locator("[data-testid=node-config] [data-testid=tree-field-errors]")).to_contain_text(
        "points>5"
    )
    screenshot(page, "workflow-editor-errors")
    assert not Workflow.objects.exists()

    _node(page, "add-label-1").click()
    page.locator("[data-testid=node-config] button.danger").click()  # Remove node
    expect(_node(page, "add-label-1")).to_have_count(0)
    expect(undo).to_be_enabled()
    undo.click()  # the node comes back with its configuration and its connection
    expect(_node(page, "add-label-1")).to_have_count(1)
    graph = json.loads(page.locator("[data-graph-json]").input_value())
    assert {"from": "filter-event-1", "output": "success", "to": "add-label-1"} in graph["edges"]
    assert next(n for n in graph["nodes"] if n["id"] == "add-label-1")["config"] == {"label": "big-web-order"}
    expect(undo).to_be_disabled()

    _node(page, "filter-event-1").click()
    page.locator("[data-testid=node-config] [data-testid=group-conditions]").first.fill("points:ge:500")
    page.click("[data-testid=save-workflow]")
    expect(page.locator("[data-testid=workflow-summary]")).to_be_visible()
    saved = Workflow.objects.get(name="Big web orders").version.graph
    assert next(n for n in saved["nodes"] if n["id"] == "filter-event-1")["config"]["conditions"] == {
        "match": "any",
        "conditions": [
            {"match": "all", "conditions": [{"field": "points", "operator": "ge", "value": "500"}]},
            {"match": "all", "conditions": [{"field": "store", "operator": "eq", "value": "web"}]},
        ],
    }


def test_undo_redo_and_a_reload_keep_the_editing_history(console_page, transactional_db):
    """Undo, redo (button and keys), then a reload: the unsaved graph and both stacks come back
    from sessionStorage and undo goes on where it was; submitting the form clears them."""
    program = Program.current()
    program.workflows = True
    program.save()
    page = console_page("program_manager")
    page.goto(page.live_url("/workflows/add/"))
    expect(page.locator("[data-workflow-editor].ready")).to_be_visible()
    undo, redo = page.locator("[data-testid=undo]"), page.locator("[data-testid=redo]")
    expect(undo).to_be_disabled()
    expect(redo).to_be_disabled()
    page.click("[data-add-node=filter_event]")
    page.click("[data-add-node=add_label]")
    expect(_node(page, "add-label-1")).to_have_count(1)

    undo.click()
    expect(_node(page, "add-label-1")).to_have_count(0)
    expect(redo).to_be_enabled()
    redo.click()
    expect(_node(page, "add-label-1")).to_have_count(1)
    expect(redo).to_be_disabled()
    page.keyboard.press("Control+z")
    expect(_node(page, "add-label-1")).to_have_count(0)
    page.keyboard.press("Control+Shift+Z")
    expect(_node(page, "add-label-1")).to_have_count(1)
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+y")
    expect(_node(page, "add-label-1")).to_have_count(1)
    expect(redo).to_be_disabled()

    page.reload()
    expect(page.locator("[data-workflow-editor].ready")).to_be_visible()
    expect(_node(page, "add-label-1")).to_have_count(1)
    expect(_node(page, "filter-event-1")).to_have_count(1)
    expect(undo).to_be_enabled()
    expect(redo).to_be_disabled()
    undo.click()  # the history from before the reload
    expect(_node(page, "add-label-1")).to_have_count(0)
    expect(redo).to_be_enabled()
    graph = json.loads(page.locator("[data-graph-json]").input_value())
    assert sorted(n["id"] for n in graph["nodes"]) == ["filter-event-1", "trigger"]
    undo.click()
    expect(_node(page, "filter-event-1")).to_have_count(0)
    expect(undo).to_be_disabled()
    redo.click()
    expect(_node(page, "filter-event-1")).to_have_count(1)

    page.fill("#id_name", "Never saved")
    page.click("[data-testid=save-workflow]")  # refused (a filter whose outputs lead nowhere)
    expect(page.locator("[data-testid=graph-errors]")).to_be_visible()
    expect(undo).to_be_disabled()  # the submit ended that history
    expect(redo).to_be_disabled()
    assert not Workflow.objects.exists()


def test_a_failed_pending_trigger_is_retried_from_the_console(console_page, transactional_db):
    """Workflows → Pending triggers: a parked row and a retrying one; Retry now with a reason runs
    the failed one (the bonus arrives once) and the row leaves the list."""
    program = Program.current()
    program.workflows = True
    program.save()
    for login in ("ann-1", "ben-2"):
        register_event(environment="live", customer=login, action="opt_in", data={"first_name": "X"})
    events = [
        register_event(environment="live", customer=cid, action="login", data={}).event
        for cid in ("ann-1", "ben-2")
    ]
    workflow = Workflow.objects.create(name="Login bonus")
    editing.save_graph(
        workflow,
        {
            "nodes": [
                {"id": "trigger", "type": "event_trigger", "config": {"action": "login"}},
                {"id": "bonus", "type": "point_add", "config": {"points": 5}},
            ],
            "edges": [{"from": "trigger", "output": "action", "to": "bonus"}],
        },
    )
    editing.set_status(workflow, True)
    now = timezone.now()
    failed = PendingTrigger.objects.create(
        environment="live", event_ids=[events[0].pk], main_event_id=events[0].pk, created_at=now - dt.timedelta(hours=7),
        available_at=now, attempts=12, failed_at=now, error="OperationalError at runner.py:164 in _run_action",
    )  # fmt: skip
    PendingTrigger.objects.create(
        environment="live", event_ids=[events[1].pk], main_event_id=events[1].pk, created_at=now,
        available_at=now + dt.timedelta(minutes=4), attempts=3, error="OperationalError at runner.py:164 in _run_action",
    )  # fmt: skip
    page = console_page("program_manager")
    page.goto(page.live_url("/workflows/"))
    expect(page.locator("[data-testid=failed-triggers]")).to_have_text("1 failed")
    page.click("[data-testid=pending-triggers-tab]")
    expect(page.locator("[data-testid=trigger-state]")).to_have_count(2)
    screenshot(page, "workflow-pending-triggers")
    page.locator("tr", has_text="Failed").get_by_role("link", name="Retry now").click()
    page.fill("#id_reason", "Database was restarted")
    page.get_by_role("button", name="Retry now").click()
    expect(page.locator(".message.success")).to_contain_text(f"Pending trigger #{failed.pk} queued.")
    expect(page.locator("[data-testid=trigger-state]")).to_have_count(1)
    assert WorkflowRun.objects.get(workflow=workflow).status == "success"
