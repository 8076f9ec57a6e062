"""Transactions console pages: who may open them, filters, details and the actions."""

import pytest
from django.urls import reverse

from events.models import Event
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

from .helpers import checkout, rule, tx

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(program):
    rule()
    enroll("Anna-1")
    enroll("Bob-2")
    checkout(
        "T-1",
        120,
        items=[
            {
                "product_id": "SKU-1",
                "product_name": "Yellow T-Shirt",
                "quantity": 2,
                "price": 60,
                "subtotal": 120,
            }
        ],
    )
    checkout("T-2", 30, customer="Bob-2")
    return tx("T-1")


def test_the_list_is_open_to_console_users_and_filters(client, cast, data):
    url = reverse("transactions:transaction_list")
    assert_page_access(client, cast, url, allowed=STAFF_ROLES)
    client.force_login(cast["analyst"])
    page = client.get(url, {"customer": "Bob-2"}).content.decode()
    assert "T-2" in page and "T-1" not in page
    page = client.get(url, {"transaction_id": "T-1", "status": "accepted"}).content.decode()
    assert "T-1" in page and "T-2" not in page


def test_details_show_total_refunded_value_and_items(admin_client, data):
    page = admin_client.get(reverse("transactions:transaction_detail", args=[data.pk])).content.decode()
    assert "Yellow T-Shirt" in page and "SKU-1" in page and "120.00" in page and "Refunded value" in page
    assert reverse("transactions:transaction_refund", args=[data.pk]) in page


def test_the_customer_tab_lists_only_their_transactions(admin_client, data):
    page = admin_client.get(
        reverse("transactions:customer_transactions", kwargs={"ref": "Anna-1"})
    ).content.decode()
    assert "T-1" in page and "T-2" not in page and "Transactions" in page


def test_refund_from_the_console_needs_the_permission_and_a_reason(client, cast, data):
    url = reverse("transactions:transaction_refund", args=[data.pk])
    client.force_login(cast["analyst"])
    assert client.post(url, {"reason": "returned"}).status_code == 403
    client.force_login(cast["support_agent"])
    assert client.post(url, {"reason": " "}).status_code == 200  # form error, nothing done
    assert tx("T-1").status == "accepted"
    response = client.post(url, {"reason": "returned"})
    assert response.status_code == 302 and tx("T-1").status == "refunded"
    event = Event.objects.get(action="refund")
    assert (
        event.admin_user == cast["support_agent"]
        and event.reason == "returned"
        and event.source == "platform"
    )


def test_a_refused_action_shows_the_error(admin_client, data):
    url = reverse("transactions:transaction_accept", args=[data.pk])
    response = admin_client.post(url, {"reason": "again"})
    assert response.status_code == 200 and "already accepted" in response.content.decode()


def test_partial_refund_and_earning_rule_pages(admin_client, data):
    url = reverse("transactions:transaction_partial_refund", args=[data.pk])
    assert admin_client.post(url, {"amount": "20", "reason": "one damaged"}).status_code == 302
    assert tx("T-1").refunded_value == 20
    page = admin_client.get(reverse("transactions:earning_rule_list")).content.decode()
    assert "Points" in page
    rule_url = reverse("transactions:earning_rule_edit", args=[data.account.earning_rule.pk])
    response = admin_client.post(
        rule_url,
        {
            "account": data.account.pk,
            "active": "on",
            "mode": "per_item",
            "points_per_unit": "2",
            "rounding": "down",
            "minimum_total": "0",
            "category_multipliers": '{"shirts": 2}',
            "product_multipliers": "{}",
            "excluded_categories": "gift-cards, vouchers",
            "excluded_products": "",
            "first_purchase_bonus": "10",
        },
    )
    assert response.status_code == 302
    data.account.earning_rule.refresh_from_db()
    assert data.account.earning_rule.excluded_categories == ["gift-cards", "vouchers"]


def test_earning_rules_are_edited_only_with_manage_catalog(client, cast, data):
    assert_page_access(
        client, cast, reverse("transactions:earning_rule_add"), allowed=["administrator", "program_manager"]
    )
