"""Workflows in a real browser: build the birthday workflow on the Drawflow canvas (On a date trigger,
Assign coupon, connected and configured through the schema forms), save, activate, advance the
sandbox clock, then see the coupon and the run log. Screenshots go to docs/user-guide/img/."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from coupons import pools
from coupons.models import Coupon, CouponPool
from events.engine import register_event
from loyalty import clock, sandbox
from loyalty.models import Program
from tests.e2e.helpers import screenshot
from workflows.models import Workflow, WorkflowRun

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
    form.locator("[name=cfg-prefilter]").fill(
        '{"match": "all", "conditions": [{"field": "birth_date", "operator": "this_day", "value": ""}]}'
    )
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
