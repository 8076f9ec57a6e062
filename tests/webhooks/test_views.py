"""The webhook console pages: lists, edit pages, secrets shown once and stored encrypted, replay
one or many, activate/inactivate, the profile's Sync tab and Resync."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.audit.models import ChangeLogEntry
from tests.factories import anna as make_anna
from tests.viewtests import ViewTestCases
from webhooks import secrets
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, IncomingEndpoint, TrustedSite, WebhookSettings

from . import factories
from .conftest import make_site


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return captured.captured_queries


class ModulesOn:
    @pytest.fixture(autouse=True)
    def _program(self, modules):
        return modules


class TestSiteList(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:site_list"
    factory = factories.TrustedSiteFactory


class TestSubscriptionList(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:subscription_list"
    factory = factories.SubscriptionFactory

    def test_query_count_does_not_grow_with_the_rows(self, admin_client):
        # Saving a subscription reloads the configuration cache (Subscription.save()), so each
        # count is taken after a warming request.
        self.factory.create_batch(2)
        admin_client.get(self.url())
        few = len(_queries(admin_client, self.url()))
        self.factory.create_batch(8)
        admin_client.get(self.url())
        assert len(_queries(admin_client, self.url())) == few


class TestLog(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:delivery_list"
    factory = factories.DeliveryFactory

    def shown_as(self, obj):
        return obj.action


class FailedDeliveryFactory(factories.DeliveryFactory):
    status = "failed"


class TestDeadLetters(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:dead_letter_list"
    factory = FailedDeliveryFactory

    def shown_as(self, obj):
        return obj.action


class TestIncomingList(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:incoming_list"
    factory = factories.IncomingEndpointFactory


class TestIncomingLog(ModulesOn, ViewTestCases.ListView):
    url_name = "webhooks:incoming_log"
    factory = factories.IncomingRequestFactory

    def shown_as(self, obj):
        return obj.reason


class TestSubscriptionEdit(ModulesOn, ViewTestCases.EditView):
    add_url_name = "webhooks:subscription_add"
    edit_url_name = "webhooks:subscription_edit"
    factory = factories.SubscriptionFactory
    invalid_form_data = {"name": ""}

    @property
    def form_data(self):
        site = TrustedSite.objects.first() or factories.TrustedSiteFactory()
        return {
            "name": "Orders",
            "site": site.pk,
            "environment": "live",
            "actions": "checkout, refund",
            "path": "orders/{{ customer.id }}",
            "payload_template": "",
            "active": "on",
        }

    def assert_saved(self, obj):
        assert obj.actions == ["checkout", "refund"] and obj.path == "orders/{{ customer.id }}"


def test_a_template_with_a_syntax_error_is_refused_on_the_field(admin_client, modules):
    site = factories.TrustedSiteFactory()
    response = admin_client.post(
        reverse("webhooks:subscription_add"),
        {"name": "x", "site": site.pk, "environment": "live", "actions": "*", "payload_template": "{{ oops"},
    )
    assert response.status_code == 200
    assert "does not parse" in str(response.context["form"].errors["payload_template"])


def _site_form(**changes):
    data = {
        "name": "CRM",
        "url": "https://93.184.215.14/hooks",
        "content_type": "application/json",
        "auth_method": "standard_webhooks",
        "jwt_algorithm": "HS256",
        "jwt_claims": "{}",
        "timeout_seconds": 10,
        "max_concurrency": 4,
        "active": "on",
    }
    data.update(changes)
    return data


def test_a_standard_webhooks_site_gets_a_secret_shown_once_and_stored_encrypted(admin_client, modules):
    response = admin_client.post(reverse("webhooks:site_add"), _site_form())
    assert response.status_code == 200
    shown = response.context["secret"]
    assert shown.startswith("whsec_") and shown in response.content.decode()
    site = TrustedSite.objects.get()
    assert shown not in site.secret_encrypted and secrets.decrypt(site.secret_encrypted) == shown
    # Never again: the edit page and the list show the hint only.
    for url in (reverse("webhooks:site_edit", args=[site.pk]), reverse("webhooks:site_list")):
        assert shown not in admin_client.get(url).content.decode()
    assert shown not in json.dumps(list(ChangeLogEntry.objects.values("before", "after")))


def test_a_typed_secret_is_kept_when_the_field_is_left_empty(admin_client, modules):
    admin_client.post(
        reverse("webhooks:site_add"), _site_form(auth_method="bearer", secret="typed-token-1234")
    )
    site = TrustedSite.objects.get()
    admin_client.post(
        reverse("webhooks:site_edit", args=[site.pk]), _site_form(auth_method="bearer", name="CRM 2")
    )
    site.refresh_from_db()
    assert site.name == "CRM 2" and secrets.decrypt(site.secret_encrypted) == "typed-token-1234"
    assert site.secret_hint == "…1234"
    assert "typed-token-1234" not in json.dumps(list(ChangeLogEntry.objects.values("before", "after")))


def test_basic_needs_a_username_and_a_password(admin_client, modules):
    response = admin_client.post(reverse("webhooks:site_add"), _site_form(auth_method="basic"))
    errors = response.context["form"].errors
    assert "username" in errors and "secret" in errors
    assert not TrustedSite.objects.exists()


def test_replay_many_from_the_dead_letter_list(
    admin_client, modules, receiver, django_capture_on_commit_callbacks
):
    site = make_site(receiver.url)
    rows = [factories.DeliveryFactory(site=site, status="failed") for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("webhooks:delivery_replay"), {"ids": [rows[0].pk, rows[1].pk]})
    assert response.status_code == 302
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["done", "done", "failed"]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("webhooks:delivery_replay"), {"all": "1"})
    assert set(Delivery.objects.values_list("status", flat=True)) == {"done"}
    assert len(receiver.accepted) == 3


def test_the_detail_page_shows_request_attempts_and_replay(admin_client, modules):
    row = factories.DeliveryFactory(status="failed", body='{"hello": "world"}', last_error="HTTP 500")
    html = admin_client.get(reverse("webhooks:delivery_detail", args=[row.pk])).content.decode()
    assert "hello" in html and 'data-testid="replay"' in html and "HTTP 500" in html


def test_the_module_off_hides_the_pages(admin_client, program):
    assert admin_client.get(reverse("webhooks:delivery_list")).status_code == 404
    assert admin_client.get(reverse("webhooks:incoming_list")).status_code == 404


def test_an_endpoint_is_created_with_a_generated_secret_and_toggled(admin_client, modules):
    response = admin_client.post(
        reverse("webhooks:incoming_add"),
        {
            "name": "shop",
            "method": "POST",
            "environment": "live",
            "action": "point_add",
            "customer_expression": "body.customer",
            "attributes": "points = body.amount * 2\nreason = body.note",
            "filters": 'headers.x_topic == "paid"',
            "filter_mode": "all",
            "auth_method": "bearer",
            "hmac_algorithm": "sha256",
            "hmac_encoding": "hex",
            "rate_limit": 600,
            "active": "on",
        },
    )
    assert response.status_code == 200, (
        response.context["form"].errors if response.context.get("form") else ""
    )
    endpoint = IncomingEndpoint.objects.get()
    assert endpoint.attributes == {"points": "body.amount * 2", "reason": "body.note"}
    assert endpoint.filters == ['headers.x_topic == "paid"']
    assert secrets.decrypt(endpoint.secret_encrypted) == response.context["secret"]
    admin_client.post(reverse("webhooks:incoming_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.active is False


def test_a_bad_mapping_expression_is_refused_on_its_field(admin_client, modules):
    response = admin_client.post(
        reverse("webhooks:incoming_add"),
        {
            "name": "shop",
            "method": "POST",
            "environment": "live",
            "action": "point_add",
            "customer_expression": "body.(",
            "filter_mode": "all",
            "auth_method": "none",
            "hmac_algorithm": "sha256",
            "hmac_encoding": "hex",
            "rate_limit": 600,
        },
    )
    assert "customer_expression" in response.context["form"].errors
    assert not IncomingEndpoint.objects.exists()


def test_the_sync_tab_lists_what_was_sent_about_the_customer(admin_client, modules):
    anna = make_anna()
    factories.DeliveryFactory(customer=anna, status="done", body='{"sent": "anna"}', last_status_code=200)
    factories.DeliveryFactory(status="failed", body='{"sent": "someone else"}')
    html = admin_client.get(reverse("webhooks:customer_sync", args=["Anna-1"])).content.decode()
    assert "{&quot;sent&quot;: &quot;anna&quot;}" in html and "someone else" not in html
    assert "✓" in html


def test_resync_sends_the_configured_fields_to_the_marketing_site(
    admin_client, modules, receiver, django_capture_on_commit_callbacks
):
    make_anna()
    site = make_site(receiver.url, name="Marketing")
    WebhookSettings.objects.create(
        sync_site=site, sync_path="contacts/{{ customer.id }}", sync_fields=["email", "first_name"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("webhooks:customer_resync", args=["Anna-1"]), {"reason": "CRM lost her e-mail"}
        )
    assert response.status_code == 302
    headers, body, path = receiver.accepted[0]
    assert path == "/contacts/Anna-1"
    assert json.loads(body) == {
        "type": "customer.sync",
        "data": {"customer": "Anna-1", "email": "anna@example.com", "first_name": "Anna"},
    }
    assert Delivery.objects.get().status == DeliveryStatus.DONE


def test_resync_without_a_target_says_so_and_sends_nothing(admin_client, modules):
    make_anna()
    response = admin_client.post(reverse("webhooks:customer_resync", args=["Anna-1"]), {"reason": "x"})
    assert response.status_code == 200
    assert "marketing-automation site" in response.content.decode()
    assert not Delivery.objects.exists()
    assert not ChangeLogEntry.objects.filter(action="resync").exists()


def test_resync_asks_for_a_reason_and_sends_nothing_without_one(admin_client, modules, receiver):
    make_anna()
    WebhookSettings.objects.create(sync_site=make_site(receiver.url, name="Marketing"))
    page = admin_client.get(reverse("webhooks:customer_resync", args=["Anna-1"])).content.decode()
    assert 'name="reason"' in page
    response = admin_client.post(reverse("webhooks:customer_resync", args=["Anna-1"]), {"reason": " "})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Delivery.objects.exists() and not ChangeLogEntry.objects.exists()


def test_resync_records_its_reason_in_the_customers_changes(
    admin_client, admin_user, modules, receiver, django_capture_on_commit_callbacks
):
    anna = make_anna()
    WebhookSettings.objects.create(sync_site=make_site(receiver.url, name="Marketing"))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("webhooks:customer_resync", args=["Anna-1"]), {"reason": "Ticket 4711: CRM out of date"}
        )
    sent = Delivery.objects.get()
    change = ChangeLogEntry.objects.get(action="resync")
    assert (change.customer, change.user, change.reason) == (anna, admin_user, "Ticket 4711: CRM out of date")
    assert change.after == {"site": "Marketing", "webhook_id": sent.msg_id, "path": ""}
    html = admin_client.get(reverse("customers:customer_changes", args=["Anna-1"])).content.decode()
    assert "Ticket 4711: CRM out of date" in html and "resync" in html


def test_the_sync_tab_and_resync_button_show_only_with_the_module(admin_client, program):
    make_anna()
    html = admin_client.get(reverse("customers:customer_overview", args=["Anna-1"])).content.decode()
    assert reverse("webhooks:customer_sync", args=["Anna-1"]) not in html
    assert admin_client.get(reverse("webhooks:customer_sync", args=["Anna-1"])).status_code == 404


def test_the_demo_data_fills_the_log_and_the_incoming_log(admin_client, program):
    from loyalty.demo.webhooks import seed_webhooks

    make_anna()
    assert seed_webhooks(customers=5) == {"deliveries": 1}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"done"}
    assert "Anna-1" in admin_client.get(reverse("webhooks:delivery_list")).content.decode()
    assert "shop-orders" in admin_client.get(reverse("webhooks:incoming_log")).content.decode()
    assert "Anna-1" in admin_client.get(reverse("webhooks:customer_sync", args=["Anna-1"])).content.decode()
