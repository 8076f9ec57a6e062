"""Content approval: with the module on, manual point and event changes by users who are not
approvers are queued; only an accepted request registers the event."""

import pytest
from django.urls import reverse

from events.models import Event
from loyalty.audit.models import ChangeLogEntry, ChangeRequest
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

from .conftest import profile


@pytest.fixture
def approval(program):
    program.content_approval = True
    program.save()
    return program


def queue_points(client, user, points=30):
    client.force_login(user)
    return client.post(
        profile("Anna-1", "manage_points"), {"operation": "point_add", "points": points, "reason": "birthday"}
    )


def test_support_agent_changes_are_queued_until_accepted(client, cast, anna, approval):
    response = queue_points(client, cast["support_agent"])
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.spendable == 500 and not Event.objects.filter(source="platform").exists()
    change = ChangeRequest.objects.get()
    assert (change.status, change.action, change.data) == ("pending", "point_add", {"points": 30})

    client.force_login(cast["approver"])
    queue = client.get(reverse("audit:request_list")).content.decode()
    assert "birthday" in queue and reverse("audit:request_accept", args=[change.pk]) in queue
    accepted = client.post(reverse("audit:request_accept", args=[change.pk]), {"reason": "ok"})
    assert accepted.status_code == 302
    anna.refresh_from_db()
    change.refresh_from_db()
    assert anna.spendable == 530 and change.status == "accepted" and change.decided_by == cast["approver"]
    assert change.event.admin_user == cast["support_agent"]
    assert set(ChangeLogEntry.objects.values_list("action", flat=True)) == {
        "change_request",
        "point_add",
        "change_request_accept",
    }
    # A second decision changes nothing.
    client.post(reverse("audit:request_accept", args=[change.pk]), {"reason": "again"})
    anna.refresh_from_db()
    assert anna.spendable == 530


def test_rejected_requests_register_nothing(client, cast, anna, approval):
    queue_points(client, cast["program_manager"])
    change = ChangeRequest.objects.get()
    client.force_login(cast["approver"])
    client.post(reverse("audit:request_reject", args=[change.pk]), {"reason": "no proof"})
    change.refresh_from_db()
    anna.refresh_from_db()
    assert change.status == "rejected" and anna.spendable == 500
    assert not Event.objects.filter(source="platform").exists()


def test_approvers_change_immediately(client, cast, anna, approval):
    queue_points(client, cast["approver"])
    anna.refresh_from_db()
    assert anna.spendable == 530 and not ChangeRequest.objects.exists()


def test_add_event_is_queued_too(client, cast, anna, approval):
    client.force_login(cast["support_agent"])
    client.post(profile("Anna-1", "add_event"), {"action": "point_add", "attr_points": "9", "reason": "x"})
    assert ChangeRequest.objects.get().action == "point_add"
    assert not Event.objects.filter(source="platform").exists()


def test_only_approvers_decide(client, cast, anna, approval):
    queue_points(client, cast["support_agent"])
    change = ChangeRequest.objects.get()
    url = reverse("audit:request_accept", args=[change.pk])
    assert_page_access(client, cast, url, allowed=["administrator", "approver"])
    assert_page_access(client, cast, reverse("audit:request_list"), allowed=STAFF_ROLES)


def test_a_failing_request_stays_pending_with_a_form_error(client, cast, anna, approval):
    client.force_login(cast["support_agent"])
    client.post(
        profile("Anna-1", "manage_points"), {"operation": "point_spend", "points": 9999, "reason": "x"}
    )
    change = ChangeRequest.objects.get()
    client.force_login(cast["approver"])
    response = client.post(reverse("audit:request_accept", args=[change.pk]), {"reason": "ok"})
    assert response.status_code == 200 and response.context["form"].errors
    change.refresh_from_db()
    assert change.status == "pending"


def test_without_the_module_nothing_is_queued(client, cast, anna, program):
    queue_points(client, cast["support_agent"])
    anna.refresh_from_db()
    assert anna.spendable == 530 and not ChangeRequest.objects.exists()
