"""Browser-test helpers, shared by every tests/e2e/test_*.py (fixtures in tests/e2e/conftest.py).

def test_something(console_page):
    page = console_page("support_agent")        # signed in through the real login form
    page.goto(page.live_url("/settings/"))

login(page, live_server, "maria", role="program_manager")  # the same, step by step
screenshot(page, "customer-profile")          # -> docs/user-guide/img/customer-profile.png
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import Group, User

from loyalty.roles import ROLE_SLUGS, sync_roles
from tests.conftest import PASSWORD

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "user-guide" / "img"


def ensure_user(username: str, role: str | None = None) -> User:
    """The user `username`, created with `role` (a slug: administrator, program_manager, ...) when
    missing. Browser tests run on a flushed database (transactional_db), so the role groups that the
    data migration made may be gone: they are re-created here."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
        if role:
            group_name = ROLE_SLUGS[role]
            if not Group.objects.filter(name=group_name).exists():
                sync_roles()
            user.groups.add(Group.objects.get(name=group_name))
    return user


def login(page, live_server, username: str, role: str | None = None, password: str = PASSWORD):
    """Sign in through the login form; `role` creates the user when missing. Returns the page."""
    ensure_user(username, role)
    page.goto(f"{live_server.url}/login/")
    if "/login/" not in page.url:  # someone is signed in already (the login page sent us on)
        page.click("[data-testid=logout]")
        page.wait_for_url("**/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.login-form button[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"login as {username} failed: still on {page.url}"
    return page


def screenshot(page, name: str) -> Path:
    """Save the page as docs/user-guide/img/<name>.png for the user guide."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
