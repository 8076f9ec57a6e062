"""API key console pages (administrators) and `manage.py create_api_key`."""

import io
import json

from django.core.management import call_command

from loyalty.api.models import ApiKey

from .conftest import ApiClient


def test_only_administrators_manage_api_keys(client, cast):
    client.force_login(cast["program_manager"])
    assert client.get("/api-keys/").status_code == 403
    assert client.post("/api-keys/add/", {"name": "x"}).status_code == 403
    client.logout()
    assert client.get("/api-keys/").status_code == 302  # to the login page


def test_create_shows_the_secret_once_and_the_key_works(admin_client, client):
    response = admin_client.post(
        "/api-keys/add/",
        {
            "name": "Web shop",
            "environment": "sandbox",
            "scopes": ["events:write", "customers:read"],
            "rate_limit": 600,
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    api_key = ApiKey.objects.get(name="Web shop")
    secret = response.context["config"]["secret"]
    assert secret in response.content.decode()
    assert "for testing only" not in response.content.decode()
    assert (api_key.environment, api_key.rate_limit, api_key.allow_unsigned) == ("sandbox", 600, False)
    listing = admin_client.get("/api-keys/").content.decode()
    assert api_key.key in listing and secret not in listing
    assert ApiClient(client, api_key, secret).get("/api/ping").json()["environment"] == "sandbox"


def test_allowing_unsigned_access_warns_that_it_is_for_testing(admin_client):
    response = admin_client.post(
        "/api-keys/add/",
        {
            "name": "curl",
            "environment": "live",
            "scopes": ["events:write"],
            "rate_limit": 10,
            "allow_unsigned": "on",
        },
    )
    assert "for testing only" in response.content.decode()
    assert ApiKey.objects.get(name="curl").allow_unsigned


def test_rotate_and_revoke(admin_client, client, live_key):
    api_key, old_secret = live_key
    page = admin_client.get(f"/api-keys/{api_key.pk}/rotate/")
    assert page.status_code == 200
    response = admin_client.post(f"/api-keys/{api_key.pk}/rotate/")
    new_secret = response.context["config"]["secret"]
    assert new_secret != old_secret
    assert ApiClient(client, api_key, old_secret).get("/api/ping").status_code == 401
    assert ApiClient(client, api_key, new_secret).get("/api/ping").status_code == 200
    response = admin_client.post(f"/api-keys/{api_key.pk}/revoke/")
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert ApiClient(client, api_key, new_secret).get("/api/ping").status_code == 401
    assert admin_client.post(f"/api-keys/{api_key.pk}/rotate/").status_code == 404


def test_create_api_key_command_prints_one_json_object(db, client):
    out = io.StringIO()
    call_command(
        "create_api_key", "--environment", "sandbox", "--name", "POS", "--allow-unsigned", stdout=out
    )
    config = json.loads(out.getvalue())
    assert set(config) == {"key", "secret", "environment", "credential_scope"}
    assert config["environment"] == "sandbox" and config["credential_scope"] == "test/api/antavo_request"
    api_key = ApiKey.objects.get(key=config["key"])
    assert api_key.allow_unsigned and api_key.name == "POS"
    assert ApiClient(client, api_key, config["secret"]).get("/api/ping").status_code == 200
