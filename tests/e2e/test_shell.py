"""The console shell in a real browser: log in, every navigation page, environments, log out."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import screenshot


def test_anonymous_visitors_are_sent_to_the_login_page(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/settings/")
    assert "/login/?next=/settings/" in page.url
    expect(page.locator("h1")).to_have_text("Log in")


def test_a_wrong_password_is_refused(page, live_server, transactional_db):
    from tests.e2e.helpers import ensure_user

    ensure_user("analyst", "analyst")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "not-the-password")
    page.click("form.login-form button[type=submit]")
    expect(page.locator(".form-errors")).to_contain_text("correct username and password")


def test_every_navigation_page_opens_for_an_administrator(admin_page):
    page = admin_page
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    links = page.locator("[data-testid=sidenav] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/settings/" in hrefs, hrefs
    for href in hrefs:
        response = page.goto(page.live_url(href))
        assert response is not None and response.status == 200, f"{href}: {response and response.status}"
        expect(page.locator("main.content h1").first).to_be_visible()
        expect(page.locator(f'[data-testid=sidenav] a[href="{href}"]')).to_have_class(re.compile("active"))
    assert not script_errors, script_errors


def test_settings_pages_open_from_the_settings_menu(admin_page):
    page = admin_page
    page.goto(page.live_url("/settings/"))
    screenshot(page, "settings-program")
    sections = page.locator(".settings-sections a")
    hrefs = [sections.nth(i).get_attribute("href") for i in range(sections.count())]
    assert len(hrefs) >= 4
    for href in hrefs:
        response = page.goto(page.live_url(href))
        assert response is not None and response.status == 200, href
    from loyalty.ledger.accounts import default_account
    from loyalty.models import PointAccount

    default_account()
    PointAccount.objects.create(code="miles", name="Miles", expiration_rule="fixed_period")
    page.goto(page.live_url("/settings/accounts/"))
    screenshot(page, "settings-accounts")


def test_switching_to_the_sandbox_and_back(admin_page):
    page = admin_page
    page.goto(page.live_url("/password/"))
    badge = page.locator("[data-testid=environment]")
    expect(badge).to_have_text("live")
    page.click("[data-testid=env-sandbox]")
    expect(badge).to_have_text("sandbox")
    expect(page.locator(".env-banner")).to_be_visible()
    assert page.url.endswith("/password/")  # the switch brings you back to the page you were on
    page.goto(page.live_url("/settings/"))
    expect(badge).to_have_text("sandbox")  # remembered for the session
    page.click("[data-testid=env-live]")
    expect(badge).to_have_text("live")
    expect(page.locator(".env-banner")).to_have_count(0)


def test_saving_program_settings_shows_a_message(admin_page):
    page = admin_page
    page.goto(page.live_url("/settings/"))
    page.fill("#id_name", "Browser Club")
    page.click("text=Save settings")
    expect(page.locator(".message.success")).to_contain_text("Program settings saved")
    expect(page.locator(".brand")).to_contain_text("Browser Club")


def test_a_support_agent_sees_no_settings_and_gets_403_there(console_page):
    page = console_page("support_agent")
    expect(page.locator('[data-testid=sidenav] a[href="/settings/"]')).to_have_count(0)
    response = page.goto(page.live_url("/settings/"))
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("You do not have access")


def test_logging_out(admin_page):
    page = admin_page
    page.click("[data-testid=logout]")
    page.wait_for_url(re.compile(r"/login/$"))
    response = page.goto(page.live_url("/settings/"))
    assert "/login/" in page.url and response.status == 200


def test_the_column_chooser_and_the_filter_work_in_the_browser(admin_page):
    from loyalty.ledger.accounts import default_account
    from loyalty.models import PointAccount

    default_account()
    PointAccount.objects.create(code="miles", name="Miles")
    page = admin_page
    page.goto(page.live_url("/settings/accounts/"))
    header = page.locator("table thead")
    expect(header).to_contain_text("Created at", ignore_case=True)
    page.click("details.column-chooser summary")
    page.uncheck('input[name=col][value="created_at"]')
    page.click("details.column-chooser button:has-text('Apply')")
    page.wait_for_url(
        re.compile(r"columns=name%2Cis_default%2Cexpiration$|columns=name,is_default,expiration$")
    )
    expect(header).not_to_contain_text("Created at", ignore_case=True)

    page.fill("#id_q", "mil")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url(re.compile(r"q=mil"))  # htmx pushes the filtered URL
    expect(page.locator("#list-results tbody tr")).to_have_count(1)
    expect(page.locator("#list-results")).to_contain_text("Miles")
    expect(header).not_to_contain_text("Created at", ignore_case=True)  # the choice is remembered


def test_signing_in_as_another_role_in_the_same_browser(console_page):
    page = console_page("administrator")
    expect(page.locator(".user-name")).to_have_text("administrator")
    page = console_page("analyst")
    expect(page.locator(".user-name")).to_have_text("analyst")
