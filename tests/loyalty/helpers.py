"""Reusable test helpers for console pages.

    from tests.loyalty.helpers import assert_page_access, ALL_ROLES, STAFF_ROLES

    def test_each_role_gets_what_its_permissions_allow(client, cast):
        assert_page_access(client, cast, reverse("settings:program"), allowed=["administrator"])

`assert_page_access` signs in every member of the fixed cast (tests/conftest.py) in turn and checks
that roles in `allowed` get `status` (200 by default; 302 for a POST that redirects), everyone else
403, and an anonymous visitor a redirect to the login page with `next` set.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from django.urls import reverse

ALL_ROLES = ("administrator", "program_manager", "support_agent", "analyst", "approver", "nobody")
STAFF_ROLES = ("administrator", "program_manager", "support_agent", "analyst", "approver")  # view_console


def assert_page_access(
    client,
    cast: dict,
    url: str,
    allowed: Iterable[str],
    *,
    method: str = "get",
    data: dict | None = None,
    status: int | Iterable[int] = 200,
) -> dict:
    """Check who may open `url`; return {role: response} for further assertions.

    Roles not in the cast (a typo) fail loudly, so a test cannot silently check nothing."""
    allowed = set(allowed)
    unknown = allowed - set(cast)
    assert not unknown, f"unknown roles {sorted(unknown)}; the cast is {sorted(cast)}"
    ok = {status} if isinstance(status, int) else set(status)
    send = getattr(client, method)
    responses = {}

    client.logout()
    response = send(url, data or {})
    login = reverse("login")
    assert response.status_code == 302, (
        f"anonymous {method.upper()} {url}: {response.status_code}, not a redirect"
    )
    assert response["Location"].startswith(f"{login}?next="), (
        f"anonymous {url} went to {response['Location']}"
    )
    assert quote(url.split("?")[0], safe="/") in response["Location"] or url in response["Location"]
    responses["anonymous"] = response

    for role, user in cast.items():
        client.force_login(user)
        response = send(url, data or {})
        responses[role] = response
        if role in allowed:
            assert response.status_code in ok, (
                f"{role} {method.upper()} {url}: {response.status_code}, expected {ok}"
            )
        else:
            assert response.status_code == 403, (
                f"{role} {method.upper()} {url}: {response.status_code}, expected 403"
            )
        client.logout()
    return responses
