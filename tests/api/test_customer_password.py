"""The Custom login module's password endpoints (reference §8.2): a password set at opt-in (or
by profile) is kept only as a hash, login with it is checked, `/customers/-/password/request`
e-mails a reset token, `/customers/-/password/reset` sets a new password once per token; opt-out
clears the hash."""

import re

import pytest
from django.core import mail

from customers.models import Customer
from events.models import Event

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def opt_in(api, customer="pw-1", **extra):
    data = {"email": "pw@example.com", "password": PASSWORD, "confirm_password": PASSWORD, **extra}
    return api.post("/api/events", json={"customer": customer, "action": "opt_in", "data": data})


def login(api, password=None, customer="pw-1"):
    body = {"customer": customer} if password is None else {"customer": customer, "password": password}
    return api.post("/api/customers/-/login", json=body)


def test_the_password_is_kept_as_a_hash_and_login_checks_it(api, program):
    assert opt_in(api).status_code == 200
    stored = Customer.objects.get(customer_id="pw-1").password
    assert stored and PASSWORD not in stored and stored.startswith(("md5", "pbkdf2", "argon2", "bcrypt"))
    assert all(PASSWORD not in str(e.data) for e in Event.objects.all())
    assert login(api, PASSWORD).status_code == 200
    wrong = login(api, "not the password")
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == 101403
    assert login(api).status_code == 200  # the shop authenticated the customer itself
    assert Event.objects.filter(action="login").count() == 2


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [
        ("x" * 129, "x" * 129, "data.password"),
        (PASSWORD, "other", "data.confirm_password"),
    ],
)
def test_a_bad_password_is_refused_and_nothing_is_stored(api, program, password, confirm, field):
    response = opt_in(api, password=password, confirm_password=confirm)
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert not Customer.objects.filter(customer_id="pw-1", status="active").exists()


def test_request_and_reset_set_a_new_password_once(api, program):
    opt_in(api)
    response = api.post(
        "/api/customers/-/password/request", json={"customer": "pw-1", "url": "https://shop.example/reset"}
    )
    assert response.status_code == 200 and response.json() == {"sent": True}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["pw@example.com"]
    token = re.search(r"token=([^\s]+)", mail.outbox[0].body).group(1)
    from urllib.parse import unquote

    token = unquote(token)
    new = "a brand new secret"
    body = {"token": token, "password": new, "confirm_password": new}
    reset = api.post("/api/customers/-/password/reset", json=body)
    assert reset.status_code == 200, reset.content
    assert login(api, new).status_code == 200
    assert login(api, PASSWORD).status_code == 403
    again = api.post(
        "/api/customers/-/password/reset",
        json={**body, "password": "third one!", "confirm_password": "third one!"},
    )
    assert again.status_code == 400 and again.json()["error"]["field"] == "token"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("request", {"customer": "nobody"}, 404, "customer"),
        ("request", {}, 400, "customer"),
        ("request", {"customer": "pw-1", "url": "javascript:alert(1)"}, 400, "redirect_url"),
        ("reset", {"token": "forged", "password": PASSWORD, "confirm_password": PASSWORD}, 400, "token"),
        ("reset", {"password": PASSWORD}, 400, "token"),
    ],
)
def test_bad_requests(api, program, path, body, status, field):
    opt_in(api)
    response = api.post(f"/api/customers/-/password/{path}", json=body)
    assert response.status_code == status and response.json()["error"]["field"] == field


def test_a_token_of_the_sandbox_does_not_work_live(api, sandbox_api, program):
    from customers.verification import make_reset_token

    sandbox_api.post(
        "/api/events", json={"customer": "pw-1", "action": "opt_in", "data": {"email": "s@example.com"}}
    )
    token = make_reset_token(Customer.objects.get(customer_id="pw-1", environment="sandbox"))
    opt_in(api)
    body = {"token": token, "password": PASSWORD + "!", "confirm_password": PASSWORD + "!"}
    assert api.post("/api/customers/-/password/reset", json=body).status_code == 400


def test_opt_out_clears_the_hash(api, program):
    opt_in(api)
    api.post("/api/events", json={"customer": "pw-1", "action": "opt_out"})
    assert Customer.objects.get(status="opted_out").password == ""
