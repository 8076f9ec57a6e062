"""Webhooks in a real browser: the log (Settings → Webhooks → Log), the dead-letter list with
Replay all, the profile's Sync tab. A real local receiver refuses, then accepts. Screenshots go to
docs/user-guide/img/ for docs/user-guide/webhooks.md."""

import pytest
from playwright.sync_api import expect

from events.engine import register_event
from loyalty.models import Program
from tests.e2e.helpers import screenshot
from tests.webhooks.conftest import make_site, subscribe
from tests.webhooks.receiver import Receiver
from webhooks.models import Delivery

pytestmark = pytest.mark.browser


@pytest.fixture
def flaky(transactional_db, settings):
    settings.WEBHOOK_RETRY_DELAYS = []  # one attempt, then the dead-letter list
    program = Program.objects.get_or_create()[0]
    program.webhooks = program.sync = True
    program.save()
    state = {"up": False}
    with Receiver(lambda n: 200 if state["up"] else 503) as server:
        site = make_site(server.url + "/crm", name="CRM")
        subscribe(site, actions=["point_add", "opt_in"])
        register_event(environment="live", customer="ada-1", action="opt_in", data={"first_name": "Ada"})
        register_event(environment="live", customer="ada-1", action="point_add", data={"points": 300})
        yield state, server


def test_the_log_the_dead_letters_and_replay(console_page, flaky):
    state, server = flaky
    assert Delivery.objects.filter(status="failed").count() == 2
    page = console_page("administrator")
    page.goto(page.live_url("/settings/webhooks/log/"))
    expect(page.get_by_test_id("webhook-log")).to_contain_text("point_add")
    expect(page.get_by_test_id("webhook-log")).to_contain_text("Failed")
    screenshot(page, "webhook-log")
    page.get_by_test_id("dead-letters").click()
    expect(page.get_by_test_id("webhook-log")).to_contain_text("503")
    screenshot(page, "webhook-dead-letters")
    state["up"] = True
    page.get_by_test_id("replay-all").click()
    expect(page.locator(".message")).to_contain_text("2 message(s) queued again")
    page.goto(page.live_url("/settings/webhooks/log/?status=done"))
    expect(page.get_by_test_id("webhook-log")).to_contain_text("Done")
    assert len(server.accepted) == 2
    ids = {h["webhook-id"] for h, _, _ in server.requests}
    assert len(ids) == 2  # the replays kept their webhook IDs


def test_the_sync_tab(console_page, flaky):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/sync/"))
    expect(page.get_by_test_id("customer-sync")).to_contain_text("CRM")
    page.get_by_test_id("sync-request").first.locator("summary").click()
    screenshot(page, "customer-sync")


def test_create_an_incoming_webhook_from_an_mparticle_blueprint(console_page, transactional_db):
    program = Program.objects.get_or_create()[0]
    program.incoming_webhooks = True
    program.save()
    page = console_page("administrator")
    page.goto(page.live_url("/settings/incoming-webhooks/"))
    page.get_by_role("link", name="Create new webhook").click()
    expect(page.get_by_test_id("blueprints")).to_contain_text("mParticle: purchase → checkout")
    screenshot(page, "incoming-blueprints")
    page.get_by_test_id("blueprint-mparticle-purchase").click()
    expect(page.locator("#id_action")).to_have_value("checkout")
    expect(page.locator("#id_filters")).to_contain_text('body.events[0].event_type == "commerce_event"')
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("secret")).to_be_visible()  # the generated token, shown once
    from webhooks.models import IncomingEndpoint

    assert IncomingEndpoint.objects.get(name="mparticle-purchase").auth_header == "x-mparticle-token"


def test_resync_asks_for_a_reason_shown_in_the_changes_tab(console_page, flaky):
    from webhooks.models import TrustedSite, WebhookSettings

    state, server = flaky
    state["up"] = True
    WebhookSettings.objects.create(sync_site=TrustedSite.objects.get(name="CRM"))
    page = console_page("administrator")
    page.goto(page.live_url("/customers/ada-1/resync/"))
    page.get_by_label("Reason").fill("Ticket 4711: the CRM missed her opt-in")
    page.get_by_role("button", name="Resync").click()
    expect(page.locator(".message")).to_contain_text("Resync queued to CRM")
    page.goto(page.live_url("/customers/ada-1/changes/"))
    expect(page.locator("main")).to_contain_text("Ticket 4711: the CRM missed her opt-in")
    screenshot(page, "customer-resync-change")
