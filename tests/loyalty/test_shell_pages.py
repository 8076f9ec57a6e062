"""The console shell: login, logout, password change, home, environment switch, error pages."""

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from loyalty.console.middleware import SESSION_KEY
from tests.conftest import PASSWORD
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

pytestmark = pytest.mark.django_db


def test_login_page_renders_for_anonymous_visitors(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_logging_in_with_the_right_password_leads_to_next(client, cast):
    target = reverse("settings:program")
    response = client.post(
        reverse("login"), {"username": "administrator", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302 and response["Location"] == target
    assert client.get(target).status_code == 200


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(client, cast):
    response = client.post(reverse("login"), {"username": "administrator", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_login_refuses_an_offsite_next(client, cast):
    response = client.post(
        reverse("login"), {"username": "analyst", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_logout_is_a_post_and_leads_to_the_login_page(client, cast):
    client.force_login(cast["support_agent"])
    assert client.get(reverse("logout")).status_code == 405  # a link cannot log you out
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_every_console_role_may_change_its_password(client, cast):
    assert_page_access(client, cast, reverse("password_change"), allowed=list(cast))


def test_changing_the_password_keeps_the_user_signed_in(client, cast):
    client.force_login(cast["analyst"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-pass-42",
            "new_password2": "a-much-longer-pass-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    cast["analyst"].refresh_from_db()
    assert cast["analyst"].check_password("a-much-longer-pass-42")


def test_a_wrong_old_password_changes_nothing(client, cast):
    client.force_login(cast["analyst"])
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "nope",
            "new_password1": "a-much-longer-pass-42",
            "new_password2": "a-much-longer-pass-42",
        },
    )
    assert response.status_code == 200
    cast["analyst"].refresh_from_db()
    assert cast["analyst"].check_password(PASSWORD)


def test_home_is_for_console_users(client, cast):
    assert_page_access(client, cast, reverse("home"), allowed=STAFF_ROLES)


def test_the_environment_switch_is_remembered_for_the_session(client, cast):
    client.force_login(cast["support_agent"])
    password_page = reverse("password_change")
    assert b'data-testid="environment">live<' in client.get(password_page).content
    response = client.post(reverse("switch_environment"), {"environment": "sandbox", "next": password_page})
    assert response.status_code == 302 and response["Location"] == password_page
    assert client.session[SESSION_KEY] == "sandbox"
    page = client.get(password_page).content
    assert b'data-testid="environment">sandbox<' in page and b"env-banner" in page


def test_the_environment_switch_ignores_unknown_values_and_offsite_targets(client, cast):
    client.force_login(cast["analyst"])
    response = client.post(
        reverse("switch_environment"), {"environment": "staging", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert SESSION_KEY not in client.session


def test_the_environment_switch_is_for_console_users_and_only_by_post(client, cast):
    url = reverse("switch_environment")
    assert_page_access(
        client, cast, url, allowed=STAFF_ROLES, method="post", data={"environment": "live"}, status=302
    )
    client.force_login(cast["administrator"])
    assert client.get(url).status_code == 405


def test_the_side_navigation_shows_settings_to_administrators_only(client, cast):
    settings_url = reverse("settings:program")
    for role, expected in [("administrator", True), ("program_manager", False), ("analyst", False)]:
        client.force_login(cast[role])
        page = client.get(reverse("password_change")).content.decode()
        assert (f'href="{settings_url}"' in page) is expected, role


def test_403_is_rendered_in_the_console_layout(client, cast):
    client.force_login(cast["analyst"])
    response = client.get(reverse("settings:program"))
    assert response.status_code == 403
    assert b"You do not have access to this page" in response.content
    assert b'class="sidenav"' in response.content


def test_404_is_rendered_in_the_console_layout(client, cast):
    client.force_login(cast["analyst"])
    response = client.get("/settings/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_500_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "console.css" in html


def test_500_page_is_served_by_the_handler(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500 and b"Something went wrong" in response.content


def sidenav_links(html: str) -> list[str]:
    nav = html.split('data-testid="sidenav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="([^"]+)"', nav)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_navigation_item_a_role_sees_opens_for_it(client, cast, role):
    """The side navigation shows an item only when its page lets that role in."""
    client.force_login(cast[role])
    links = sidenav_links(client.get(reverse("password_change")).content.decode())
    assert links, f"{role} sees no navigation"
    for href in links:
        response = client.get(href)
        assert response.status_code == 200, f"{role} {href}: {response.status_code}"


def test_nobody_without_a_role_sees_no_navigation(client, cast):
    client.force_login(cast["nobody"])
    assert sidenav_links(client.get(reverse("password_change")).content.decode()) == []


def test_a_signed_in_user_opening_the_login_page_goes_to_the_console(client, cast):
    client.force_login(cast["analyst"])
    response = client.get(reverse("login"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
