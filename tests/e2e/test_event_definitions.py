"""Event definitions in a real browser: the built-in catalog, and a custom event created through
the form that the engine accepts at once."""

from playwright.sync_api import expect

from tests.e2e.helpers import screenshot


def test_an_administrator_defines_a_custom_event(admin_page):
    page = admin_page
    page.goto(page.live_url("/events/definitions/"))
    expect(page.locator("main.content h1").first).to_have_text("Events")
    expect(page.locator("table.builtin-actions")).to_contain_text("point_expire")
    page.get_by_role("link", name="New event definition").click()
    page.fill("#id_action", "wishlist_add")
    page.fill("#id_label", "Wishlist add")
    page.fill("#id_points", "5")
    page.fill("#id_attributes-0-name", "product")
    page.check("#id_attributes-0-required")
    page.click("form.edit-form button[type=submit]")
    expect(page.locator("main.content")).to_contain_text("wishlist_add")
    screenshot(page, "event-definitions")

    from events.engine import register_event
    from events.models import Event

    register_event(environment="live", customer="Shopper-1", action="opt_in", data={})
    register_event(environment="live", customer="Shopper-1", action="wishlist_add", data={"product": "SKU-1"})
    assert Event.objects.get(action="wishlist_add").points == 5


def test_an_analyst_sees_the_list_without_edit_buttons(console_page):
    page = console_page("analyst")
    page.goto(page.live_url("/events/definitions/"))
    expect(page.locator("table.builtin-actions")).to_contain_text("opt_in")
    expect(page.get_by_role("link", name="New event definition")).to_have_count(0)
