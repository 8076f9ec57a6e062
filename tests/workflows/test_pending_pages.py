"""Workflows → Pending triggers in the console and /api/pending-triggers: the list (states, links,
keyset pages, no unbounded COUNT), Retry now / Discard / Retry all failed with a reason, who may
do them, the failed count on the workflow list and the Jobs page, and the API's errors."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty.audit.models import ChangeLogEntry
from tests import factories
from workflows import tasks
from workflows.models import PendingTrigger

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db

LIST = reverse("workflows:pending_list")


def login_workflow():
    return make_workflow(
        chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 5}}),
        name="Login bonus",
    )


def failed_rows(settings, count=1) -> list[PendingTrigger]:
    """`count` rows of real login events whose walk fails once and is parked (a broken follow-up id)."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    for _ in range(count):
        factories.register("login")
    PendingTrigger.objects.update(event_ids=["broken"])  # the walk raises ValueError
    tasks.drain_outbox()
    rows = list(PendingTrigger.objects.order_by("id"))
    for row in rows:  # the main event stays: the page links it
        row.event_ids = [row.main_event_id]
        row.save(update_fields=["event_ids"])
    assert all(row.state == "failed" for row in rows)
    return rows


def test_the_list_shows_state_event_customer_workflows_and_the_failed_count(
    client, cast, program, anna, settings
):
    workflow = login_workflow()
    (row,) = failed_rows(settings)
    factories.register("login")  # a second, pending row
    client.force_login(cast["program_manager"])
    page = client.get(LIST).content.decode()
    assert reverse("workflows:pending_discard", args=[row.pk]) in page
    assert page.count('data-testid="trigger-state"') == 2
    assert "Failed" in page and "Pending" in page
    assert f"/customers/Anna-1/events/{row.main_event_id}/" in page
    assert reverse("customers:customer_overview", args=["Anna-1"]) in page
    assert reverse("workflows:workflow_detail", args=[workflow.pk]) in page and "Login bonus" in page
    assert "ValueError at tasks.py" in page
    assert reverse("workflows:pending_retry", args=[row.pk]) in page
    assert 'data-testid="retry-all-failed"' in page
    failed_only = client.get(LIST, {"state": "failed"}).content.decode()
    assert failed_only.count('data-testid="trigger-state"') == 1
    listing = client.get(reverse("workflows:workflow_list")).content.decode()
    assert 'data-testid="failed-triggers"' in listing and "1 failed" in listing
    jobs = client.get(reverse("dataio:job_list")).content.decode()
    assert 'data-testid="failed-triggers-notice"' in jobs and LIST in jobs


def test_retry_now_and_discard_ask_for_a_reason_and_are_logged(
    client, cast, program, anna, settings, on_commit
):
    login_workflow()
    first, second = failed_rows(settings, 2)
    client.force_login(cast["program_manager"])
    retry = reverse("workflows:pending_retry", args=[first.pk])
    response = client.post(retry, {"reason": "  "})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert PendingTrigger.objects.get(pk=first.pk).state == "failed"
    settings.OUTBOX_MAX_ATTEMPTS = 12
    response = on_commit(lambda: client.post(retry, {"reason": "fixed"}))
    assert response.status_code == 302
    assert not PendingTrigger.objects.filter(pk=first.pk).exists()  # drained (tasks run inline)
    assert factories.live().spendable == 5
    response = client.post(reverse("workflows:pending_discard", args=[second.pk]), {"reason": "test data"})
    assert response.status_code == 302 and not PendingTrigger.objects.exists()
    actions = list(ChangeLogEntry.objects.order_by("id").values_list("action", "reason", "user__username"))
    assert actions == [
        ("pending_trigger_retry", "fixed", "program_manager"),
        ("pending_trigger_discard", "test data", "program_manager"),
    ]
    assert factories.live().spendable == 5  # the discarded login never ran


def test_retrying_a_pending_row_is_refused_on_the_form(client, cast, program, anna):
    login_workflow()
    factories.register("login")
    row = PendingTrigger.objects.get()
    client.force_login(cast["administrator"])
    response = client.post(reverse("workflows:pending_retry", args=[row.pk]), {"reason": "why not"})
    assert response.status_code == 200 and "already queued" in response.content.decode()
    assert not ChangeLogEntry.objects.exists()


def test_retry_all_failed_in_the_console(client, cast, program, anna, settings, on_commit):
    login_workflow()
    failed_rows(settings, 2)
    settings.OUTBOX_MAX_ATTEMPTS = 12
    client.force_login(cast["program_manager"])
    response = on_commit(
        lambda: client.post(reverse("workflows:pending_retry_failed"), {"reason": "node fixed"})
    )
    assert response.status_code == 302
    assert not PendingTrigger.objects.exists()
    assert factories.live().spendable == 10


@pytest.mark.parametrize("role", ["support_agent", "analyst", "approver"])
def test_a_role_without_workflow_rights_sees_the_list_without_buttons_and_gets_403(
    client, cast, program, anna, settings, role
):
    login_workflow()
    (row,) = failed_rows(settings)
    client.force_login(cast[role])
    page = client.get(LIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="trigger-state"' in text
    urls = (
        reverse("workflows:pending_retry", args=[row.pk]),
        reverse("workflows:pending_discard", args=[row.pk]),
        reverse("workflows:pending_retry_failed"),
    )
    assert not any(url in text for url in urls)
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": "x"}).status_code == 403
    assert PendingTrigger.objects.get().state == "failed" and not ChangeLogEntry.objects.exists()


def test_the_list_pages_by_keyset_without_an_unbounded_count(admin_client, program):
    now = timezone.now()
    PendingTrigger.objects.bulk_create(
        PendingTrigger(environment="live", event_ids=[], created_at=now, available_at=now) for _ in range(60)
    )
    ids = sorted(PendingTrigger.objects.values_list("pk", flat=True), reverse=True)
    with CaptureQueriesContext(connection) as queries:
        first = admin_client.get(LIST).content.decode()
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert first.count('data-testid="trigger-state"') == 50
    assert 'data-testid="next-page"' in first
    second = admin_client.get(LIST, {"after": ids[49]}).content.decode()
    assert second.count('data-testid="trigger-state"') == 10
    assert 'data-testid="next-page"' not in second and 'data-testid="prev-page"' in second


def test_the_api_lists_retries_and_discards(api, program, anna, settings):
    login_workflow()
    first, second = failed_rows(settings, 2)
    factories.register("login")
    body = api.get("/api/pending-triggers?state=failed&limit=1").json()
    (item,) = body["pending_triggers"]
    assert (item["id"], item["state"], item["customer"], item["attempts"]) == (
        first.pk,
        "failed",
        "Anna-1",
        1,
    )
    assert item["error"].startswith("ValueError at ") and item["next_try_at"] is None
    assert len(item["workflows"]) == 1 and item["event"] == first.main_event_id
    rest = api.get(f"/api/pending-triggers?state=failed&limit=1&after={body['next']}").json()
    assert [r["id"] for r in rest["pending_triggers"]] == [second.pk] and rest["next"] is None
    assert len(api.get("/api/pending-triggers?state=pending").json()["pending_triggers"]) == 1
    settings.OUTBOX_MAX_ATTEMPTS = 12
    retried = api.post(f"/api/pending-triggers/{first.pk}/retry", {"reason": "fixed"})
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    discarded = api.post(f"/api/pending-triggers/{second.pk}/discard", {"reason": "test data"})
    assert discarded.json() == {"discarded": second.pk}
    entries = list(ChangeLogEntry.objects.order_by("id").values_list("action", "object_repr"))
    assert entries == [
        ("pending_trigger_retry", f"pending trigger #{first.pk} (API key shop)"),
        ("pending_trigger_discard", f"pending trigger #{second.pk} (API key shop)"),
    ]
    assert api.post("/api/pending-triggers/retry-failed", {"reason": "none left"}).json() == {"queued": 0}


def test_the_api_refuses_bad_input_and_changes_nothing(api, program, anna, settings):
    login_workflow()
    (row,) = failed_rows(settings)
    factories.register("login")
    waiting = PendingTrigger.objects.exclude(pk=row.pk).get()
    cases = [
        (api.get("/api/pending-triggers?state=nope"), 400, 113400, "state"),
        (api.post("/api/pending-triggers/999999/retry", {"reason": "x"}), 404, 160404, "id"),
        (api.post("/api/pending-triggers/abc/discard", {"reason": "x"}), 404, 160404, "id"),
        (api.post(f"/api/pending-triggers/{row.pk}/retry", {}), 400, 113401, "reason"),
        (api.post(f"/api/pending-triggers/{row.pk}/discard", {"reason": "   "}), 400, 113401, "reason"),
        (api.post(f"/api/pending-triggers/{row.pk}/discard", {"reason": 5}), 400, 113400, "reason"),
        (api.post(f"/api/pending-triggers/{row.pk}/retry", {"reason": "x" * 1001}), 400, 113400, "reason"),
        (api.post("/api/pending-triggers/retry-failed", {}), 400, 113401, "reason"),
        (api.post(f"/api/pending-triggers/{waiting.pk}/retry", {"reason": "x"}), 422, 160422, "id"),
    ]
    for response, status, code, field in cases:
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["field"]) == (status, code, field), error
    assert PendingTrigger.objects.get(pk=row.pk).state == "failed"
    assert PendingTrigger.objects.count() == 2 and not ChangeLogEntry.objects.exists()


def test_a_reason_with_a_nul_character_is_refused_on_the_field_by_every_api_action(
    api, program, anna, settings
):
    """A NUL in the reason was stored as it was (SQLite) or a 500 (PostgreSQL cannot store it in
    the change log): retry, discard and retry-failed now refuse it on the field, changing nothing."""
    login_workflow()
    (row,) = failed_rows(settings)
    for path in (
        f"/api/pending-triggers/{row.pk}/retry",
        f"/api/pending-triggers/{row.pk}/discard",
        "/api/pending-triggers/retry-failed",
    ):
        response = api.post(path, {"reason": "test\x00data"})
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["field"]) == (400, 113400, "reason"), path
    assert PendingTrigger.objects.get(pk=row.pk).state == "failed"
    assert not ChangeLogEntry.objects.exists()
