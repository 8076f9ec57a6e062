"""The change log: append-only, filterable by user, customer and date, shown on the profile."""

import datetime as dt

import pytest
from django.urls import reverse

from loyalty.audit import log as audit
from loyalty.audit.models import AppendOnlyError, ChangeLogEntry
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

from .conftest import profile

CHANGES = reverse("audit:change_list")


def rows(response):
    return [entry.reason for entry in response.context["table"].data.data]


@pytest.fixture
def log(cast, anna):
    bob = enroll("bob-1")
    audit.record(
        user=cast["support_agent"], action="point_add", environment="live", customer=anna, reason="a1"
    )
    audit.record(
        user=cast["program_manager"], action="suspend", environment="live", customer=bob, reason="b1"
    )
    audit.record(
        user=cast["support_agent"],
        action="profile",
        environment="live",
        customer=bob,
        reason="b2",
        before={"city": ""},
        after={"city": "Rome"},
    )
    audit.record(user=cast["support_agent"], action="point_add", environment="sandbox", reason="sandbox")


def test_access(client, cast, log):
    assert_page_access(client, cast, CHANGES, allowed=STAFF_ROLES)


def test_filter_by_user_customer_and_date(admin_client, cast, log):
    assert rows(admin_client.get(CHANGES)) == ["b2", "b1", "a1"]
    assert rows(admin_client.get(CHANGES, {"user": cast["support_agent"].pk})) == ["b2", "a1"]
    assert rows(admin_client.get(CHANGES, {"customer": "bob-1"})) == ["b2", "b1"]
    today = dt.date.today()
    assert rows(admin_client.get(CHANGES, {"since": today + dt.timedelta(days=2)})) == []
    assert rows(admin_client.get(CHANGES, {"until": today + dt.timedelta(days=2), "customer": "Anna-1"})) == [
        "a1"
    ]
    bad = admin_client.get(CHANGES, {"since": "not-a-date"})
    assert bad.status_code == 200 and "Enter a valid date" in bad.content.decode()


def test_before_and_after_are_shown(admin_client, log):
    html = admin_client.get(CHANGES, {"customer": "bob-1"}).content.decode()
    assert "Rome" in html


def test_profile_changes_tab(admin_client, log):
    response = admin_client.get(profile("bob-1", "changes"))
    assert [c.reason for c in response.context["changes"]] == ["b2", "b1"]
    tabs = {t["label"]: t["badge"] for t in response.context["tabs"]}
    assert tabs["Changes"] == 2


def test_append_only(log):
    entry = ChangeLogEntry.objects.first()
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ChangeLogEntry.objects.update(reason="x")
    with pytest.raises(AppendOnlyError):
        ChangeLogEntry.objects.all().delete()


@pytest.mark.parametrize(("entries", "badge"), [(99, 99), (100, "99+"), (130, "99+")])
def test_profile_tab_badges_stop_counting_at_99(admin_client, cast, anna, entries, badge):
    """A badge counts at most 100 index entries (customers.tabs.BADGE_CAP), whatever the
    customer's history: "99+" beyond."""
    for i in range(entries):
        audit.record(
            user=cast["support_agent"], action="point_add", environment="live", customer=anna, reason=f"r{i}"
        )
    response = admin_client.get(profile("Anna-1", "changes"))
    tabs = {t["label"]: t["badge"] for t in response.context["tabs"]}
    assert tabs["Changes"] == badge
