"""Module switches gate every issue-20 feature in the API, the console and the engine, and
switching a module off loses nothing (the per-feature tests check the data stays)."""

import pytest
from django.urls import reverse

from events.engine import register_event
from loyalty.errors import ValidationError
from tests.api.conftest import ApiClient
from tests.factories import enroll

pytestmark = pytest.mark.django_db

API_PATHS = [
    ("GET", "/api/customers/ada/cards"),
    ("GET", "/api/cards/CARD-1"),
    ("POST", "/api/cards/batch"),
    ("GET", "/api/customers/ada/referrals"),
    ("GET", "/api/customers/ada/friends"),
    ("POST", "/api/referrals"),
    ("GET", "/api/customers/ada/budgets"),
    ("GET", "/api/customers/ada/achievements"),
]
TABS = [
    "cards:customer_cards",
    "referrals:customer_referrals",
    "budgets:customer_budgets",
    "achievements:customer_achievements",
]
EVENTS = [
    ("card_register", {"card": "CARD-1"}),
    ("referral_code_create", {}),
    ("referral_redeem", {"code": "ABC-1"}),
    ("point_add", {"points": 1, "subledger": "s1"}),
]


@pytest.fixture
def ada(program):
    return enroll("ada")


@pytest.mark.parametrize(("method", "path"), API_PATHS)
def test_api_refuses_with_the_module_off(client, ada, method, path):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="shop", environment="live")
    api = ApiClient(client, api_key, secret)
    response = api.request(
        method,
        path,
        json={"numberOfCards": 1, "advocateProfileIntegrationId": "ada"} if method == "POST" else None,
    )
    assert response.status_code == 400, response.content
    assert "module is off" in response.json()["error"]["message"]


@pytest.mark.parametrize("name", TABS)
def test_tabs_are_gone_with_the_module_off(admin_client, ada, name):
    url = reverse(name, kwargs={"ref": "ada"})
    assert admin_client.get(url).status_code == 404
    assert (
        url
        not in admin_client.get(
            reverse("customers:customer_overview", kwargs={"ref": "ada"})
        ).content.decode()
    )


@pytest.mark.parametrize(("action", "data"), EVENTS)
def test_engine_refuses_with_the_module_off(ada, action, data):
    with pytest.raises(ValidationError) as error:
        register_event(environment="live", customer="ada", action=action, data=data)
    assert "module" in error.value.message
