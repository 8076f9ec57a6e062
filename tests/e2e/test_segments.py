"""Segments in a real browser: build a segment with two groups, watch the live count change as the
conditions change (htmx), save, open the members and their Export; a customer list with a member added by search.
Screenshots go to docs/user-guide/img/ for the segments guide."""

import re

import pytest
from playwright.sync_api import expect

from events.engine import register_event
from tests.e2e.helpers import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    from loyalty.models import Program

    program = Program.current()
    program.segments = True
    program.save()
    for cid, points, country, first, last in (
        ("ada-1", 840, "GB", "Ada", "Lovelace"),
        ("max-2", 120, "DE", "Max", "Planck"),
        ("emmy-3", 1400, "DE", "Emmy", "Noether"),
        ("lise-4", 900, "AT", "Lise", "Meitner"),
    ):
        register_event(
            environment="live",
            customer=cid,
            action="opt_in",
            data={"first_name": first, "last_name": last, "country": country, "email": f"{cid}@example.com"},
        )
        register_event(environment="live", customer=cid, action="point_add", data={"points": points})


def preview_count(page):
    return page.locator("[data-testid=preview-count]")


def test_build_a_segment_with_two_groups_and_open_its_members(console_page, people):
    page = console_page("program_manager")
    page.goto(page.live_url("/segments/"))
    page.get_by_role("link", name="Create segment").click()
    page.fill("input[name=name]", "Big spenders in DACH")
    groups = page.locator("[data-testid=group-conditions]")
    groups.nth(0).fill("country:in:DE,AT")
    expect(preview_count(page)).to_have_text("3")  # the live count, from htmx

    page.click("[data-testid=add-group]")
    expect(page.locator("[data-testid=condition-group]")).to_have_count(2)
    page.locator("[data-testid=group-conditions]").nth(1).fill("score:ge:800")
    expect(preview_count(page)).to_have_text("2")  # both groups (all)
    page.select_option("[data-testid=tree-match]", "any")
    expect(preview_count(page)).to_have_text("4")  # either group: Ada (GB, 840 points) too
    page.select_option("[data-testid=tree-match]", "all")
    expect(preview_count(page)).to_have_text("2")
    screenshot(page, "segments-editor")

    page.click("[data-testid=save-segment]")
    expect(page.locator("[data-testid=segment-member-count]")).to_have_text("2")
    table_rows = page.locator("[data-testid=customer-table] tbody tr")
    expect(table_rows).to_have_count(2)
    expect(page.locator("[data-testid=customer-table]")).to_contain_text("Noether")
    expect(page.locator("[data-testid=customer-table]")).to_contain_text("Meitner")
    screenshot(page, "segments-members")

    # Export: the export form, its customer filter pre-filled with this segment.
    page.click("[data-testid=export-link]")
    expect(page.locator("input[name=query]")).to_have_value(re.compile(r"^segment=\d+$"))

    page.goto(page.live_url("/segments/"))
    expect(page.locator("[data-testid=segment-table]")).to_contain_text("Big spenders in DACH")
    screenshot(page, "segments-list")


def test_a_bad_condition_shows_where_it_is(console_page, people):
    page = console_page("program_manager")
    page.goto(page.live_url("/segments/add/"))
    page.locator("[data-testid=group-conditions]").nth(0).fill("score:ge:lots")
    expect(page.locator("[data-testid=preview-errors]")).to_contain_text("Group 1, condition 1")


def test_add_a_list_member_by_search(console_page, people):
    from segments.models import CustomerList

    customer_list = CustomerList.objects.create(name="Store opening")
    page = console_page("program_manager")
    page.goto(page.live_url(f"/segments/lists/{customer_list.pk}/"))
    page.fill("[data-testid=add-member-input]", "Emmy Noether")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("[data-testid=list-member-count]")).to_have_text("1")
    expect(page.locator("[data-testid=customer-table]")).to_contain_text("Noether")
    screenshot(page, "lists-detail")
