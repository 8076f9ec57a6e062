"""Issue 14 §7: login throttling (django-axes), staff password reset by e-mail, the
Content-Security-Policy, and no `javascript:` in URL attributes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from loyalty.safe_urls import is_safe_url
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def login(client, username, password, ip="203.0.113.9"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_fifty_wrong_passwords_then_the_right_one_does_not_log_in(client, program):
    """The reported example: 50 wrong passwords in a row, then the right one."""
    make_user("victim", "support agent")
    for _ in range(50):
        login(client, "victim", "wrong-guess")
    response = login(client, "victim", PASSWORD)
    assert not logged_in(client)
    assert response.status_code == 429 and b"Too many failed attempts" in response.content


def test_the_lockout_starts_at_the_configured_limit_and_ends_after_the_cooloff(
    client, program, settings, time_machine
):
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), tick=False)
    settings.AXES_FAILURE_LIMIT = 3
    make_user("agent", "support agent")
    for _ in range(2):
        assert login(client, "agent", "wrong").status_code == 200
    assert login(client, "agent", "wrong").status_code == 429  # the 3rd failure locks
    assert login(client, "agent", PASSWORD).status_code == 429 and not logged_in(client)
    time_machine.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 1)
    assert login(client, "agent", PASSWORD).status_code == 302 and logged_in(client)


def test_a_lockout_is_per_username_and_address(client, program):
    make_user("agent", "support agent")
    for _ in range(6):
        login(client, "agent", "wrong", ip="203.0.113.9")
    assert login(client, "agent", PASSWORD, ip="198.51.100.7").status_code == 302  # another address


def test_a_success_resets_the_count(client, program, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("agent", "support agent")
    for _ in range(2):
        login(client, "agent", "wrong")
    assert login(client, "agent", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        login(client, "agent", "wrong")
    assert login(client, "agent", PASSWORD).status_code == 302


def test_staff_password_reset_by_email(client, program):
    user = make_user("forgetful", "support agent")
    page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in page
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = re.search(r"https?://[^/]+(/password/reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"Set a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": "a-brand-new-passphrase-9", "new_password2": "a-brand-new-passphrase-9"},
    )
    assert done.status_code == 302
    assert login(client, "forgetful", "a-brand-new-passphrase-9").status_code == 302
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_an_unknown_address_sends_nothing_and_says_the_same(client, program):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and mail.outbox == []


def test_email_backend_is_the_console_by_default():
    from django.conf import settings

    assert settings.EMAIL_BACKEND in (
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",  # pytest-django swaps it in tests
    )


# --- Content-Security-Policy --------------------------------------------------------------------


def test_console_and_swagger_pages_carry_a_strict_script_policy(admin_client):
    for url in (reverse("customers:customer_list"), reverse("password_reset"), "/api/docs/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        )
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_swagger_ui_has_no_inline_script(admin_client):
    html = admin_client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts), scripts


def test_templates_have_no_inline_scripts_or_event_handlers():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- javascript: in URL attributes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<b>x",
        "vbscript:x",
    ],
)
def test_dangerous_schemes_are_unsafe(value):
    assert not is_safe_url(value)


@pytest.mark.parametrize(
    "value", ["", "https://example.com/a.png", "http://x", "/media/a.png", "//cdn.example/a"]
)
def test_web_addresses_are_safe(value):
    assert is_safe_url(value)


def test_image_url_javascript_is_refused_by_the_api_and_the_console(client, program, admin_client):
    from events.engine import register_event
    from loyalty.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        register_event(
            environment="live", customer="js-1", action="opt_in", data={"image_url": "javascript:alert(1)"}
        )
    assert raised.value.field == "data.image_url"
    register_event(environment="live", customer="js-1", action="opt_in", data={"email": "js@example.com"})
    response = admin_client.post(
        reverse("customers:customer_personal", kwargs={"ref": "js-1"}),
        {"email": "js@example.com", "image_url": "javascript:alert(1)", "reason": "x"},
    )
    assert response.status_code == 200
    assert "must be an http or https address" in response.content.decode()
    from customers.models import Customer

    assert Customer.objects.get(customer_id="js-1").image_url == ""


def test_product_url_javascript_is_refused(program):
    from events.engine import register_event
    from loyalty.errors import ValidationError

    register_event(environment="live", customer="js-2", action="opt_in", data={})
    with pytest.raises(ValidationError) as raised:
        register_event(
            environment="live",
            customer="js-2",
            action="checkout",
            data={
                "transaction_id": "T-js",
                "total": "10",
                "items": [{"product_id": "P", "product_url": "javascript:alert(1)", "subtotal": "10"}],
            },
        )
    assert raised.value.field.endswith("product_url")
