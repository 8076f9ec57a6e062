"""The customer insights console in a real browser: filter the list, open a profile, walk every
tab, add points, suspend, merge, opt out. Screenshots go to docs/user-guide/img/ for the guide."""

import pytest
from playwright.sync_api import expect

from events.engine import register_event
from tests.e2e.helpers import screenshot
from tests.factories import enroll

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    from loyalty.models import Tier, TierStructure

    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=1000)
    enroll("ada-1", points=640, first_name="Ada", last_name="Lovelace", email="ada@example.com", country="GB")
    enroll("max-2", points=120, first_name="Max", last_name="Planck", email="max@example.com", country="DE")
    enroll(
        "emmy-3", points=1400, first_name="Emmy", last_name="Noether", email="emmy@example.com", country="DE"
    )
    for n in range(3):
        register_event(environment="live", customer="ada-1", action="point_spend", data={"points": 20 + n})


def rows(page):
    return page.locator("[data-testid=customer-table] tbody tr")


def test_filter_the_list_open_a_profile_and_walk_every_tab(console_page, people):
    page = console_page("program_manager")
    page.goto(page.live_url("/customers/"))
    expect(rows(page)).to_have_count(3)
    screenshot(page, "customers-list")

    page.select_option("[data-testid=condition-field]", "country")
    page.select_option("[data-testid=condition-operator]", "eq")
    page.fill("[data-testid=condition-value]", "DE")
    page.click("[data-testid=condition-search]")
    expect(page.locator("[data-testid=condition]")).to_have_count(1)
    page.select_option("[data-testid=condition-field]", "score")
    page.select_option("[data-testid=condition-operator]", "ge")
    page.fill("[data-testid=condition-value]", "1000")
    page.click("[data-testid=condition-search]")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Noether")
    assert "f=country%3Aeq%3ADE" in page.url and "f=score%3Age%3A1000" in page.url  # bookmarkable
    screenshot(page, "customers-filter-bar")

    page.click("[aria-label='Remove Score is greater than or equal 1000']")
    expect(rows(page)).to_have_count(2)
    page.fill("[data-testid=condition-value]", "lots")
    page.select_option("[data-testid=condition-field]", "score")
    page.click("[data-testid=condition-search]")
    expect(page.locator("[data-testid=filter-errors]")).to_contain_text("not a whole number")
    page.click("[data-testid=clear-conditions]")
    expect(rows(page)).to_have_count(3)

    rows(page).filter(has_text="Lovelace").get_by_role("link", name="Open").click()
    expect(page.locator("[data-testid=customer-id]")).to_have_text("ada-1")
    expect(page.locator("[data-testid=point-statistics]")).to_contain_text("577")
    expect(page.locator("[data-testid=balance-chart]")).to_be_visible()
    screenshot(page, "customer-overview")
    for label, shot in [
        ("Personal information", "customer-personal"),
        ("Events", "customer-events"),
        ("Points history", "customer-points"),
        ("Tiers", "customer-tiers"),
        ("Changes", "customer-changes"),
        ("Overview", None),
    ]:
        page.locator("nav.tabs a", has_text=label).first.click()
        expect(page.locator("nav.tabs a.active")).to_contain_text(label)
        expect(page.locator("[data-testid=customer-spendable]")).to_have_text("577")
        if shot:
            screenshot(page, shot)
    page.locator("nav.tabs a", has_text="Events").first.click()
    page.locator("[data-testid=event-table] a", has_text="Details").first.click()
    expect(page.locator("[data-testid=event-detail]")).to_contain_text("point_spend")
    screenshot(page, "customer-event-detail")


def test_add_points_with_a_reason_then_see_them_in_history_and_change_log(console_page, people):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/max-2/"))
    page.get_by_role("link", name="Manage points").click()
    page.check("input[name=operation][value=point_add]")
    page.fill("#id_points", "75")
    page.fill("#id_reason", "Late delivery apology")
    screenshot(page, "customer-manage-points")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("75 points")
    expect(page.locator("[data-testid=points-table] tbody tr").first).to_contain_text("+75")
    expect(page.locator("[data-testid=points-table] tbody tr").first).to_contain_text("195")
    expect(page.locator("[data-testid=points-table] tbody tr").first).to_contain_text("Late delivery apology")
    expect(page.locator("[data-testid=customer-spendable]")).to_have_text("195")
    page.locator("nav.tabs a", has_text="Changes").first.click()
    expect(page.locator("[data-testid=change-table]")).to_contain_text("Late delivery apology")
    page.goto(page.live_url("/changes/?customer=max-2"))
    expect(page.locator("[data-testid=change-table]")).to_contain_text("support_agent")
    screenshot(page, "changes")


def test_suspend_then_spending_is_refused(console_page, people):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/max-2/"))
    page.locator("details.more-actions summary").click()
    page.get_by_role("link", name="Suspend").click()
    page.fill("#id_reason", "Suspicious activity")
    screenshot(page, "customer-suspend")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-testid=customer-status]")).to_have_text("Suspended")
    page.get_by_role("link", name="Manage points").click()
    page.check("input[name=operation][value=point_spend]")
    page.fill("#id_points", "10")
    page.fill("#id_reason", "Voucher")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-testid=action-form]")).to_contain_text("suspend")
    from customers.models import Customer

    assert Customer.objects.get(customer_id="max-2").spendable == 120


def test_merge_two_customers(console_page, people):
    page = console_page("program_manager")
    page.goto(page.live_url("/customers/ada-1/"))
    page.locator("details.more-actions summary").click()
    page.get_by_role("link", name="Merge").click()
    page.fill("#id_source", "max-2")
    page.check("input[name=mode][value=full]")
    page.fill("#id_reason", "Same person, two accounts")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-testid=merge-review]")).to_contain_text("ada-1 stays active")
    screenshot(page, "customer-merge-review")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("merged into ada-1")
    expect(page.locator("[data-testid=customer-spendable]")).to_have_text("697")


def test_opt_out_removes_the_customer_from_the_list(console_page, people):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/emmy-3/opt-out/"))
    expect(page.locator(".confirm-text")).to_contain_text("anonymizes")
    screenshot(page, "customer-opt-out")
    page.fill("#id_reason", "Customer asked by email")
    page.get_by_role("button", name="Opt out and anonymize").click()
    assert page.url.endswith("/customers/")
    expect(rows(page)).to_have_count(2)
    expect(page.locator("[data-testid=customer-table]")).not_to_contain_text("Noether")


def test_labels_page(console_page, people):
    from customers.models import Label

    Label.objects.create(name="vip")
    register_event(environment="live", customer="ada-1", action="profile", data={"labels": ["vip"]})
    page = console_page("program_manager")
    page.goto(page.live_url("/labels/"))
    expect(page.locator("[data-testid=label-table]")).to_contain_text("vip")
    screenshot(page, "labels")
    page.get_by_role("link", name="View").first.click()
    expect(page.locator("main")).to_contain_text("ada-1")
