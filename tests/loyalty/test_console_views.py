"""The generic console views: list (filters, columns, lazy pages), tabs, action with a reason."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.models import PointAccount
from tests.loyalty import console_urls
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.loyalty.console_urls")]


@pytest.fixture
def accounts(db):
    for code in ["alpha", "bravo", "charlie", "delta"]:
        PointAccount.objects.create(code=code, name=code.title())
    return PointAccount.objects.order_by("code")


def header_cells(html: str) -> str:
    return html.split("<thead", 1)[1].split("</thead>", 1)[0]


def test_the_list_is_for_console_users(client, cast):
    assert_page_access(client, cast, reverse("test_list"), allowed=STAFF_ROLES)


def test_the_list_pages_lazily_without_counting(admin_client, accounts):
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(reverse("test_list")).content.decode()
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert "Alpha" in page and "Bravo" in page and "Charlie" not in page
    assert 'rel="next"' in page and "Page 1" in page
    page = admin_client.get(reverse("test_list"), {"page": 3}).content.decode()
    assert "Points" in page and 'rel="next"' not in page and 'rel="prev"' in page


def test_per_page_in_the_url_is_honoured_within_a_cap(admin_client, accounts, monkeypatch):
    page = admin_client.get(reverse("test_list"), {"per_page": "100000"}).content.decode()
    assert all(name in page for name in ["Alpha", "Delta", "Points"]) and 'rel="next"' not in page
    monkeypatch.setattr("loyalty.console.views.MAX_PER_PAGE", 3)
    page = admin_client.get(reverse("test_list"), {"per_page": "100000"}).content.decode()
    assert "Charlie" in page and "Delta" not in page and 'rel="next"' in page


def test_the_filter_form_narrows_the_list(admin_client, accounts):
    page = admin_client.get(reverse("test_list"), {"q": "char"}).content.decode()
    assert "Charlie" in page and "Alpha" not in page


def test_an_invalid_filter_shows_its_error_and_the_list(admin_client, accounts):
    page = admin_client.get(reverse("test_list"), {"expiration_rule": "sometimes"}).content.decode()
    assert "Select a valid choice" in page and "Alpha" in page


def test_the_column_chooser_picks_and_remembers_columns(admin_client, accounts):
    page = admin_client.get(reverse("test_list"), {"columns": "name,nonsense"}).content.decode()
    assert "Name" in header_cells(page) and "Created at" not in header_cells(page)
    assert "Code" in header_cells(page)  # always visible
    remembered = admin_client.get(reverse("test_list")).content.decode()
    assert "Created at" not in header_cells(remembered)
    reset = admin_client.get(reverse("test_list"), {"reset_columns": "1"}).content.decode()
    assert "Created at" in header_cells(reset)


def test_the_column_chooser_works_without_javascript(admin_client, accounts):
    page = admin_client.get(reverse("test_list"), {"col": ["created_at"], "columns": ""}).content.decode()
    assert "Created at" in header_cells(page) and "Default" not in header_cells(page)


def test_htmx_requests_get_only_the_results(admin_client, accounts):
    response = admin_client.get(reverse("test_list"), {"q": "alp"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'id="list-results"' in html and "<html" not in html and "Alpha" in html


def test_tabs_are_ordered_filtered_and_badged(client, cast, accounts, program):
    account = accounts.first()
    console_urls.count_badge.calls = 0
    client.force_login(cast["support_agent"])
    response = client.get(reverse("test_tab_first", args=[account.pk]))
    tabs = response.context["tabs"]
    # Secret needs manage_settings; Referrals needs the referrals module (off by default).
    assert [t["label"] for t in tabs] == ["First", "Second"]
    assert tabs[0]["active"] and not tabs[1]["active"] and tabs[0]["badge"] == 7
    assert console_urls.count_badge.calls == 1  # computed once per page, not per template lookup
    assert '<span class="count">7</span>' in response.content.decode()

    client.force_login(cast["administrator"])
    program.referrals = True
    program.save()
    labels = [t["label"] for t in client.get(reverse("test_tab_first", args=[account.pk])).context["tabs"]]
    assert labels == ["First", "Second", "Secret", "Referrals"]


def test_each_tab_checks_its_own_permission(client, cast, accounts):
    url = reverse("test_tab_second", args=[accounts.first().pk])
    assert_page_access(
        client, cast, url, allowed=["administrator", "program_manager", "support_agent", "approver"]
    )


def test_an_action_needs_a_reason(admin_client, accounts):
    account = accounts.first()
    response = admin_client.post(reverse("test_rename", args=[account.pk]), {"reason": "   "})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    account.refresh_from_db()
    assert account.name == "Alpha"


def test_an_action_performs_and_says_so(admin_client, accounts):
    account = accounts.first()
    response = admin_client.post(reverse("test_rename", args=[account.pk]), {"reason": "Renamed by test"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "test_tab_first", args=[account.pk]
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Renamed."]
    account.refresh_from_db()
    assert account.name == "Renamed by test"


@pytest.mark.parametrize("reason, field", [("refuse", "reason"), ("refuse globally", "__all__")])
def test_an_engine_refusal_becomes_a_form_error(admin_client, accounts, reason, field):
    response = admin_client.post(reverse("test_rename", args=[accounts.first().pk]), {"reason": reason})
    assert response.status_code == 200
    assert field in response.context["form"].errors


def test_an_action_is_checked_against_its_permission(client, cast, accounts):
    url = reverse("test_rename", args=[accounts.first().pk])
    responses = assert_page_access(
        client, cast, url, allowed=["administrator", "program_manager", "support_agent", "approver"]
    )
    assert b'name="reason"' in responses["administrator"].content


def test_an_action_without_perform_is_a_programming_error(admin_client):
    with pytest.raises(ImproperlyConfigured):
        admin_client.post(reverse("test_broken"), {"reason": "x"})


def test_list_buttons_show_to_those_who_may_use_them_once_their_page_exists(client, cast):
    client.force_login(cast["administrator"])
    assert client.get(reverse("test_list")).context["list_actions"] == [
        {"label": "New account", "url": reverse("settings:account_add")}
    ]
    client.force_login(cast["analyst"])
    assert client.get(reverse("test_list")).context["list_actions"] == []
