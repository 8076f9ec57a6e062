"""Browser tests: real Chromium (Debian's /usr/bin/chromium) driven by pytest-playwright against
Django's live server. Every test under tests/e2e/ is marked `browser` (make test-fast skips them).

Fixtures:
- `console_page(role="administrator", username=None)` -> a Playwright page signed in through the
  real login form as a user of that role; `page.live_url(path)` builds an absolute URL.
- `admin_page`: console_page("administrator").
- `logged_in_page`: the same factory as console_page, under the name other tests may use.
Helpers (tests/e2e/helpers.py): `login(page, live_server, username, role=None)`,
`screenshot(page, name)` (docs/user-guide/img/<name>.png), `ensure_user(username, role)`.
"""

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import login, screenshot  # noqa: F401  (re-exported for the browser tests)

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"No browser at {CHROMIUM}: run 'make setup' as root or 'apt-get install -y chromium'.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture
def console_page(page, live_server, transactional_db):
    """A factory: console_page(role) signs `page` in as a user named after the role."""
    page.set_default_timeout(15_000)
    page.live_url = lambda path="/": f"{live_server.url}{path}"

    def open_as(role: str = "administrator", username: str | None = None):
        login(page, live_server, username or role, role=role)
        return page

    return open_as


@pytest.fixture
def logged_in_page(console_page):
    return console_page


@pytest.fixture
def admin_page(console_page):
    return console_page("administrator")
