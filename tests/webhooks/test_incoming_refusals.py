"""Incoming requests refused before authentication are in the log with their answer and reason
(404 unknown or inactive, 405, 413, 429), within a per-minute cap; and the blueprints (Blank and
the mParticle scenarios) prefill endpoints that map real mParticle event batches."""

import json

import pytest
from django.urls import reverse

from events.models import Event
from tests.factories import anna as make_anna
from webhooks import blueprints, secrets
from webhooks.models import IncomingEndpoint, IncomingRequest

from .test_incoming import endpoint, post


def _last():
    return IncomingRequest.objects.order_by("-id").first()


def test_a_rate_limited_request_is_logged_with_429_and_its_reason(client, modules):
    make_anna()
    hook = endpoint(auth_method="none", secret="", rate_limit=1)
    text = json.dumps({"customer": {"id": "Anna-1"}, "amount": 1})
    assert [post(client, text).status_code for _ in range(2)] == [200, 429]
    row = _last()
    assert (row.endpoint, row.status, row.http_status) == (hook, "refused", 429)
    assert "Rate limit of 1 requests a minute exceeded" in row.reason and row.body == text


def test_an_inactive_endpoint_is_logged_against_it_and_an_unknown_name_with_the_name(client, modules):
    hook = endpoint(auth_method="none", secret="", active=False)
    assert post(client, '{"a": 1}').status_code == 404
    row = _last()
    assert (row.endpoint, row.endpoint_name, row.http_status) == (hook, "shop-points", 404)
    assert "inactive" in row.reason
    assert post(client, "{}", url="/api/hooks/no-such-hook").status_code == 404
    row = _last()
    assert (row.endpoint, row.endpoint_name, row.http_status) == (None, "no-such-hook", 404)
    assert row.reason == "No incoming webhook 'no-such-hook'." and row.status == "refused"


def test_a_body_over_the_limit_is_logged_with_413_without_reading_it(client, modules, settings):
    settings.API_MAX_BODY_BYTES = 1000
    hook = endpoint(auth_method="none", secret="")
    assert post(client, json.dumps({"pad": "x" * 5000})).status_code == 413
    row = _last()
    assert (row.endpoint, row.http_status, row.body) == (hook, 413, "")
    assert "may be at most 1000 bytes" in row.reason


def test_a_wrong_method_is_logged_with_405(client, modules):
    hook = endpoint(auth_method="none", secret="")
    assert post(client, "{}", method="put").status_code == 405
    assert (_last().endpoint, _last().http_status) == (hook, 405)


def test_the_secret_token_header_of_a_refused_request_is_not_logged(client, modules):
    endpoint(auth_method="static_token", auth_header="x-token", secret="tok-secret-1", active=False)
    post(client, "{}", headers={"HTTP_X_TOKEN": "tok-secret-1"})
    row = _last()
    assert row.headers["X-Token"] == "[hidden]" and "tok-secret-1" not in json.dumps(row.headers)


def test_refusals_before_authentication_are_logged_at_most_n_a_minute(client, modules, settings):
    settings.WEBHOOK_REFUSAL_LOG_PER_MINUTE = 3
    endpoint(auth_method="none", secret="", active=False)
    codes = [post(client, "{}").status_code for _ in range(6)]
    unknown = [post(client, "{}", url="/api/hooks/x-y").status_code for _ in range(5)]
    assert codes == [404] * 6 and unknown == [404] * 5  # every caller gets the answer
    assert IncomingRequest.objects.filter(endpoint_name="shop-points").count() == 3
    assert IncomingRequest.objects.filter(endpoint_name="x-y").count() == 3


def test_the_module_off_logs_nothing(client, modules, program):
    from loyalty.models import Program

    endpoint(auth_method="none", secret="")
    row = Program.objects.get(pk=program.pk)
    row.incoming_webhooks = False
    row.save()
    assert post(client, "{}").status_code == 404
    assert not IncomingRequest.objects.exists()


def test_the_log_page_lists_refusals_with_the_unknown_name(admin_client, client, modules):
    post(client, "{}", url="/api/hooks/ghost")
    page = admin_client.get(reverse("webhooks:incoming_log")).content.decode()
    assert "ghost (unknown)" in page and "No incoming webhook" in page


# --- blueprints -----------------------------------------------------------------------------------

TOKEN = "mp-token-0123456789"


def _batch(event: dict, customer="Anna-1", **extra) -> str:
    return json.dumps(
        {
            "events": [event],
            "user_identities": {"customer_id": customer, "email": f"{customer.lower()}@example.com"},
            "user_attributes": {"$firstname": "Ann", "$lastname": "Example"},
            "mpid": "-8433569",
            "environment": "production",
            **extra,
        }
    )


def _purchase(action="purchase", transaction="T-1001", total=59.9):
    return {
        "event_type": "commerce_event",
        "data": {
            "product_action": {
                "action": action,
                "transaction_id": transaction,
                "total_amount": total,
                "products": [{"id": "sku-1", "name": "Shirt", "quantity": 1, "price": total}],
            },
            "currency_code": "EUR",
        },
    }


def _create_from_blueprint(admin_client, key):
    """Open the form from the blueprint and save it as prefilled, with a token."""
    page = admin_client.get(reverse("webhooks:incoming_add") + f"?blueprint={key}")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(secret=TOKEN, active="on")
    response = admin_client.post(reverse("webhooks:incoming_add"), data)
    assert response.status_code in (200, 302), response.content[:3000]
    return IncomingEndpoint.objects.get(name=blueprints.BY_KEY[key].values["name"])


def _send(client, name, text):
    return client.post(
        f"/api/hooks/{name}", data=text, content_type="application/json", HTTP_X_MPARTICLE_TOKEN=TOKEN
    )


def test_the_blueprint_page_offers_blank_and_the_mparticle_scenarios(admin_client, modules):
    page = admin_client.get(reverse("webhooks:incoming_blueprints")).content.decode()
    for key in ("blank", "mparticle-purchase", "mparticle-refund", "mparticle-opt-in"):
        assert f"?blueprint={key}" in page
    blank = admin_client.get(reverse("webhooks:incoming_add") + "?blueprint=blank").context["form"]
    assert not blank["action"].value() and not blank["filters"].value()


def test_an_mparticle_purchase_batch_becomes_a_checkout_and_its_refund_a_refund(
    admin_client, client, modules
):
    make_anna()
    purchase = _create_from_blueprint(admin_client, "mparticle-purchase")
    assert purchase.action == "checkout" and purchase.auth_method == "static_token"
    assert secrets.decrypt(purchase.secret_encrypted) == TOKEN
    response = _send(client, "mparticle-purchase", _batch(_purchase()))
    assert response.status_code == 200, response.content
    event = Event.objects.get(action="checkout")
    assert event.customer.customer_id == "Anna-1"
    assert event.data["transaction_id"] == "T-1001" and float(event.data["total"]) == 59.9
    assert event.data["currency"] == "EUR" and event.data["channel"] == "mparticle"

    _create_from_blueprint(admin_client, "mparticle-refund")
    # A refund batch is filtered out by the purchase endpoint and mapped by the refund one.
    assert _send(client, "mparticle-purchase", _batch(_purchase("refund"))).json()["status"] == "filtered"
    assert _send(client, "mparticle-refund", _batch(_purchase("refund"))).status_code == 200
    refund = Event.objects.get(action="refund")
    assert refund.data["transaction_id"] == "T-1001"


def test_an_mparticle_sign_up_event_enrols_the_customer(admin_client, client, modules):
    _create_from_blueprint(admin_client, "mparticle-opt-in")
    custom = {
        "event_type": "custom_event",
        "data": {"event_name": "loyalty_opt_in", "custom_event_type": "other"},
    }
    response = _send(client, "mparticle-opt-in", _batch(custom, customer="Mp-77"))
    assert response.status_code == 200, response.content
    event = Event.objects.get(action="opt_in")
    assert event.customer.customer_id == "Mp-77" and event.customer.email == "mp-77@example.com"
    assert event.customer.first_name == "Ann"
    other = {"event_type": "custom_event", "data": {"event_name": "page_view"}}
    assert _send(client, "mparticle-opt-in", _batch(other, customer="Mp-78")).json()["status"] == "filtered"


@pytest.mark.parametrize("blueprint", blueprints.BLUEPRINTS[1:], ids=lambda b: b.key)
def test_a_blueprint_without_its_token_is_refused(admin_client, client, modules, blueprint):
    _create_from_blueprint(admin_client, blueprint.key)
    response = client.post(
        f"/api/hooks/{blueprint.values['name']}", data=_batch(_purchase()), content_type="application/json"
    )
    assert response.status_code == 401
