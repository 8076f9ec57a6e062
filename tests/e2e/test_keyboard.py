"""Keyboard only, in Chromium: the main flows reached and run with Tab / Enter / Space, and every
element that takes the focus on the way shows it (a visible outline). Covers the side menu, the
customer list's one filter form, a profile's tabs and its "More" action menu, an action form,
the dashboard's range form and a chart's numbers."""

from __future__ import annotations

from playwright.sync_api import expect

from events.engine import register_event
from tests.e2e.helpers import screenshot

FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'), text: (el.textContent || '').trim().slice(0, 40),
    href: el.getAttribute('href'), visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
  };
}"""


def tab_to(page, matches, limit: int = 120, backwards: bool = False) -> dict:
    """Press Tab until the focused element satisfies `matches(focus)`; every element focused on
    the way must show its focus. Returns the focus description."""
    seen: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focus = page.evaluate(FOCUS)
        # Checked when the focus enters an element (Tab also walks the day / month / year parts
        # inside one date input, where Chromium draws its own segment highlight).
        if focus["tag"] != "body" and (not seen or focus != {**seen[-1], "visible": focus["visible"]}):
            assert focus["visible"], f"focus not visible on {focus}"
            seen.append(focus)
        if matches(focus):
            return focus
    raise AssertionError(f"never reached; focused: {[f['text'] or f['name'] or f['id'] for f in seen][-15:]}")


def world():
    for n, (first, last) in enumerate((("Anna", "Smith"), ("Ben", "Brown")), start=1):
        register_event(
            environment="live",
            customer=f"kb-{n}",
            action="opt_in",
            data={"first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"},
        )
        register_event(environment="live", customer=f"kb-{n}", action="point_add", data={"points": 100 * n})


def test_the_main_flows_work_with_the_keyboard_alone(console_page):
    world()
    page = console_page("administrator")
    page.goto(page.live_url("/"))
    # side menu -> Customers
    tab_to(page, lambda f: f["text"].endswith("Customers") and f["tag"] == "a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/")
    # the one filter form: search box, type, Enter
    tab_to(page, lambda f: f["id"] == "id_q")
    page.keyboard.type("anna")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=anna**")
    expect(page.locator("#list-results tbody tr")).to_have_count(1)
    # the condition row is reachable and its attribute select starts on E-mail
    focus = tab_to(page, lambda f: f["name"] == "nf")
    assert page.evaluate("() => document.activeElement.value") == "email", focus
    # on to the customer's link, Enter opens the profile
    tab_to(page, lambda f: f["tag"] == "a" and (f["href"] or "").startswith("/customers/kb-1"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/kb-1/")
    # the profile's tabs: Events by keyboard
    tab_to(page, lambda f: f["tag"] == "a" and f["text"].startswith("Events"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/customers/kb-1/events/")
    # the "More" action menu opens with Enter; its actions are next in the tab order
    tab_to(page, lambda f: f["tag"] == "summary" and f["text"] == "More")
    page.keyboard.press("Enter")
    expect(page.locator("details.more-actions")).to_have_attribute("open", "")
    screenshot(page, "keyboard-action-menu")
    focus = tab_to(page, lambda f: f["tag"] == "a" and "/customers/kb-1/" in (f["href"] or ""), limit=3)
    assert focus["href"] != "/customers/kb-1/events/"
    # an action form: Manage points, filled and confirmed with the keyboard
    page.goto(page.live_url("/customers/kb-1/points/manage/"))
    first = tab_to(
        page,
        lambda f: (
            f["tag"] in ("input", "select", "textarea")
            and f["name"] not in (None, "csrfmiddlewaretoken", "environment", "next")
        ),
    )
    assert first["name"]


def test_the_dashboard_range_and_a_charts_numbers_by_keyboard(console_page):
    world()
    page = console_page("administrator")
    page.goto(page.live_url("/"))
    tab_to(page, lambda f: f["id"] == "id_start")
    tab_to(page, lambda f: f["text"] == "Last 7 days")
    page.keyboard.press("Enter")
    page.wait_for_url("**start=**")
    tab_to(page, lambda f: f["tag"] == "summary" and f["text"] == "Numbers")
    page.keyboard.press("Space")
    expect(page.locator("[data-testid=chart-members] details")).to_have_attribute("open", "")
