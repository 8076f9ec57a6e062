"""The console generics pages are declared on: the API-key list as an ObjectListView, the Settings
menu entries resolving, a customer's children tabs (ObjectChildrenView) and EventActionView."""

import pytest
from django.urls import reverse

from events.engine import register_event
from events.models import Event
from loyalty.api import keys
from loyalty.audit.models import ChangeLogEntry

pytestmark = pytest.mark.django_db


def test_the_settings_menu_shows_api_keys_to_administrators(admin_client, program):
    page = admin_client.get(reverse("settings:program")).content.decode()
    assert f'href="{reverse("api_keys:api_key_list")}"' in page
    assert f'href="{reverse("customers:custom_field_list")}"' in page


def test_the_api_key_list_filters_by_status_and_search(admin_client, admin_user, program):
    active, _ = keys.create_api_key(name="shop", environment="live", created_by=admin_user)
    revoked, _ = keys.create_api_key(name="old pos", environment="live", created_by=admin_user)
    keys.revoke(revoked)
    url = reverse("api_keys:api_key_list")
    only_active = admin_client.get(url, {"status": "active"}).content.decode()
    assert active.key in only_active and revoked.key not in only_active
    searched = admin_client.get(url, {"q": "pos"}).content.decode()
    assert revoked.key in searched and active.key not in searched
    assert admin_client.get(url, {"status": "bogus"}).status_code == 200  # an error on the field


def test_a_children_tab_with_an_invalid_filter_lists_nothing(admin_client, program):
    register_event(environment="live", customer="Anna-1", action="opt_in", data={})
    register_event(
        environment="live", customer="Anna-1", action="checkout", data={"transaction_id": "T-1", "total": 10}
    )
    url = reverse("transactions:customer_transactions", kwargs={"ref": "Anna-1"})
    assert url == "/customers/Anna-1/transactions/"
    assert "T-1" in admin_client.get(url).content.decode()
    assert "T-1" not in admin_client.get(url, {"status": "no-such-status"}).content.decode()


def test_every_profile_tab_lives_under_the_customer():
    for name in (
        "coupons:customer_coupons",
        "transactions:customer_transactions",
        "customers:customer_points",
    ):
        assert reverse(name, kwargs={"ref": "Anna-1"}).startswith("/customers/Anna-1/")
    assert reverse("coupons:coupon_redeem", kwargs={"ref": "Anna-1", "code": "X"}).startswith(
        "/customers/Anna-1/"
    )


def test_an_event_action_page_registers_the_event_with_the_user_and_reason(admin_client, admin_user, program):
    register_event(environment="live", customer="Anna-1", action="opt_in", data={})
    response = admin_client.post(
        reverse("customers:customer_suspend", kwargs={"ref": "Anna-1"}), {"reason": "fraud check"}
    )
    assert response.status_code == 302
    event = Event.objects.get(action="suspend")
    assert (event.source, event.admin_user_id, event.reason) == ("platform", admin_user.pk, "fraud check")
    assert ChangeLogEntry.objects.filter(action="suspend").exists()


@pytest.mark.parametrize("page", [str(10**19), str(10**28), str(2**63 // 50), "-1", "abc", "²"])
@pytest.mark.parametrize(
    "url", ["/api-keys/", "/settings/accounts/", "/settings/tiers/", "/changes/", "/changes/requests/"]
)
def test_a_page_number_beyond_what_the_database_can_skip_shows_the_first_page(
    admin_client, program, url, page
):
    """Before: ?page=10000000000000000000 was a 500 ("datatype mismatch" on SQLite, "bigint out
    of range" on PostgreSQL) on every console list that pages by number."""
    response = admin_client.get(url, {"page": page})
    assert response.status_code == 200
    assert response.context["table"].page.number == 1


def test_every_console_table_pages_with_the_bounded_paginator(admin_client, anna):
    """The generalization: list pages (ObjectListView) and profile tabs (paginate_table) page
    with BoundedLazyPaginator, and no other module pages a table by number itself."""
    import pathlib

    from loyalty.console.views import BoundedLazyPaginator, ObjectListView

    assert ObjectListView.paginator_class is BoundedLazyPaginator
    for params in ({"page": str(10**19)}, {"per_page": str(10**19)}, {"per_page": "0"}, {"per_page": "-5"}):
        response = admin_client.get(f"/customers/{anna.customer_id}/transactions/", params)
        assert response.status_code == 200, params
        paginator = response.context["table"].paginator
        assert isinstance(paginator, BoundedLazyPaginator) and 1 <= paginator.per_page <= 200
    root = pathlib.Path(__file__).resolve().parents[2]
    console_views = root / "loyalty" / "console" / "views.py"
    sources = [
        path
        for path in root.glob("*/**/*.py")
        if ".venv" not in path.parts and "tests" not in path.parts and path != console_views
    ]
    others = [
        str(path)
        for path in sources
        if "LazyPaginator" in (text := path.read_text()) or "RequestConfig(" in text
    ]
    assert others == []
