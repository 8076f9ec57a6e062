"""The dashboard in Chromium on demo data: Chart.js draws every chart (no script or CSP errors),
each chart's numbers open as a table and download as CSV, the range form works; the user-guide
screenshot docs/user-guide/img/dashboard.png."""

import datetime as dt

from playwright.sync_api import expect

from dashboard.rollups import rebuild_rollups
from loyalty.demo.history import seed_history
from loyalty.management.commands.seed_demo import configure_program
from tests.e2e.helpers import ensure_user, screenshot


def demo(customers: int = 60):
    configure_program()
    admin = ensure_user("administrator", "administrator")
    seed_history(live=customers, sandbox=0, seed=2024, admin=admin)
    rebuild_rollups()


def test_the_dashboard_draws_its_charts_from_the_rollups(console_page):
    demo()
    page = console_page("administrator")
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 1000})
    end = dt.date.today()
    page.goto(page.live_url(f"/?start={end - dt.timedelta(days=364)}&end={end}"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("[data-testid=sidenav] a.active")).to_have_text("▦Dashboard")
    members = page.locator("[data-testid=kpis] .kpi").first
    expect(members).to_contain_text("Members")
    assert int(members.locator("strong").inner_text().replace(",", "")) > 40
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() >= 6
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')].filter(c => window.Chart.getChart(c)).length"
    )
    assert drawn == canvases.count()
    screenshot(page, "dashboard")
    page.locator("[data-testid=chart-members]").scroll_into_view_if_needed()
    screenshot(page, "dashboard-charts")
    # the numbers behind a chart: a table, and the same as CSV
    chart = page.locator("[data-testid=chart-purchases]")
    chart.locator("summary").click()
    expect(chart.locator("table tbody tr").first).to_be_visible()
    with page.expect_download() as download:
        chart.locator("[data-testid=csv-purchases]").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("Week starting,Purchases,Net revenue (EUR)\n")
    assert ".00\n" in text or ".50\n" in text
    # a chosen range through the form; a bad one says why
    page.fill("#id_start", str(end - dt.timedelta(days=6)))
    page.fill("#id_end", str(end))
    page.click(".dashboard-range button[type=submit]")
    expect(page.locator("[data-testid=dashboard-range]")).not_to_contain_text("per week")
    page.fill("#id_start", str(end + dt.timedelta(days=3)))
    page.click(".dashboard-range button[type=submit]")
    expect(page.locator(".dashboard-range .error")).to_contain_text("must not be after")
    assert problems == [], problems


def test_keyboard_reaches_the_range_form_and_the_chart_tables(console_page):
    demo(12)
    page = console_page("administrator")
    page.goto(page.live_url("/"))
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "id_start":
            break
    assert page.evaluate("() => document.activeElement.id") == "id_start"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
