"""The console pages: edit with graph validation, activate, runs, run detail, test run, export/import,
the customer's Workflow logs tab and the event details' triggered workflows."""

import json
import types

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from events.models import Event
from tests import factories
from workflows.models import Campaign, Workflow, WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db

GRAPH = chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": 4}})


def test_a_program_manager_creates_a_workflow_and_a_bad_graph_shows_errors_on_the_nodes(
    client, cast, program
):
    client.force_login(cast["program_manager"])
    bad = chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": "{{ 1 + }}"}})
    response = client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 10, "graph": json.dumps(bad)}
    )
    assert response.status_code == 400
    assert "bonus" in response.content.decode() and "does not parse" in response.content.decode()
    assert not Workflow.objects.exists()
    response = client.post(
        reverse("workflows:workflow_add"), {"name": "W", "priority": 10, "graph": json.dumps(GRAPH)}
    )
    workflow = Workflow.objects.get()
    assert response.status_code == 302 and workflow.version.number == 1 and workflow.status == "inactive"
    client.post(reverse("workflows:workflow_status", args=[workflow.pk, "activate"]))
    workflow.refresh_from_db()
    assert workflow.status == "active"
    response = client.post(
        reverse("workflows:workflow_add"), {"name": "X", "priority": 1, "graph": "{not json"}
    )
    assert response.status_code == 200 and "not valid JSON" in response.content.decode()


def test_pages_render_for_a_run(admin_client, program, anna, on_commit):
    workflow = make_workflow(GRAPH)
    on_commit(lambda: factories.register("login"))
    run = WorkflowRun.objects.get()
    pages = [
        reverse("workflows:workflow_list"),
        reverse("workflows:campaign_list"),
        reverse("workflows:workflow_detail", args=[workflow.pk]),
        reverse("workflows:workflow_waiting", args=[workflow.pk]),
        reverse("workflows:workflow_edit", args=[workflow.pk]),
        reverse("workflows:run_detail", args=[run.pk]),
        reverse("workflows:customer_workflow_logs", args=["Anna-1"]),
        reverse("workflows:node_form") + "?type=campaign_bonus",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert (
        "Success"
        in admin_client.get(reverse("workflows:customer_workflow_logs", args=["Anna-1"])).content.decode()
    )
    login = Event.objects.get(action="login")
    detail = admin_client.get(
        reverse("customers:customer_event_detail", args=["Anna-1", login.pk])
    ).content.decode()
    assert reverse("workflows:run_detail", args=[run.pk]) in detail
    bonus = Event.objects.get(action="point_add", workflow_id=workflow.pk)
    made = admin_client.get(
        reverse("customers:customer_event_detail", args=["Anna-1", bonus.pk])
    ).content.decode()
    assert 'data-testid="event-workflow"' in made and "node bonus" in made


def test_the_module_switch_hides_the_pages(admin_client, program):
    program.workflows = False
    program.save()
    assert admin_client.get(reverse("workflows:workflow_list")).status_code == 404


def test_a_test_run_shows_the_path_and_stores_nothing(admin_client, program, anna):
    workflow = make_workflow(GRAPH, active=False)
    events = Event.objects.count()
    response = admin_client.post(
        reverse("workflows:workflow_test", args=[workflow.pk]), {"customer": "Anna-1", "data": "{}"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="test-result"' in body
    assert "point_add" in body and "success" in body
    assert Event.objects.count() == events and not WorkflowRun.objects.exists()
    assert factories.live().spendable == 0
    missing = admin_client.post(
        reverse("workflows:workflow_test", args=[workflow.pk]), {"customer": "Nobody-9", "data": "{}"}
    )
    assert missing.status_code == 400


def test_export_then_import_makes_an_inactive_copy(admin_client, program):
    workflow = make_workflow(GRAPH)
    exported = admin_client.get(reverse("workflows:workflow_export", args=[workflow.pk])).content
    upload = SimpleUploadedFile("w.json", exported, content_type="application/json")
    response = admin_client.post(reverse("workflows:workflow_import"), {"file": upload})
    assert response.status_code == 302
    copy = Workflow.objects.exclude(pk=workflow.pk).get()
    assert copy.status == "inactive" and copy.version.graph == workflow.version.graph
    junk = SimpleUploadedFile("w.json", b'{"format": "other"}', content_type="application/json")
    assert admin_client.post(reverse("workflows:workflow_import"), {"file": junk}).status_code == 400


def test_campaigns_are_created_with_checked_caps(admin_client, program):
    response = admin_client.post(
        reverse("workflows:campaign_add"),
        {
            "name": "Weekend",
            "starts_at": "2026-01-01T00:00",
            "ends_at": "2025-01-01T00:00",
            "max_bonus_points": "-1",
            "limit_behavior": "soft",
        },
    )
    assert response.status_code == 200 and not Campaign.objects.exists()
    response = admin_client.post(
        reverse("workflows:campaign_add"),
        {
            "name": "Weekend",
            "starts_at": "2026-01-01T00:00",
            "ends_at": "2026-02-01T00:00",
            "max_bonus_points": "1000",
            "limit_behavior": "soft",
        },
    )
    assert response.status_code == 302 and Campaign.objects.get().max_bonus_points == 1000


def test_a_waiting_run_is_cancelled_from_its_page(admin_client, program, anna, on_commit):
    make_workflow(
        chain(
            on_event("login"),
            {"id": "w", "type": "wait", "config": {"amount": 1, "unit": "days"}},
            {"id": "b", "type": "point_add", "config": {"points": 1}},
        )
    )
    on_commit(lambda: factories.register("login"))
    run = WorkflowRun.objects.get()
    assert run.status == "waiting"
    admin_client.post(reverse("workflows:run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "cancelled"


@pytest.mark.parametrize(
    "field, value",
    [("starts_at", "0001-01-01T00:00"), ("starts_at", "1899-12-31T12:00"), ("ends_at", "9999-12-31T23:59")],
)
def test_a_campaign_date_outside_the_engines_years_is_refused_on_its_field(
    admin_client, program, field, value
):
    """Year 1 in the program's time zone was stored as a BC date-time on PostgreSQL, which Python
    cannot read back: the save and then every page listing campaigns (the campaign list, the
    workflow editor) were a 500. Dates now stay in loyalty.bounds' years, as everywhere."""
    data = {
        "name": "W",
        "starts_at": "2026-01-01T00:00",
        "ends_at": "2026-02-01T00:00",
        "limit_behavior": "soft",
    }
    response = admin_client.post(reverse("workflows:campaign_add"), {**data, field: value})
    assert (
        response.status_code == 200 and "between 1900 and 2999" in response.context["form"].errors[field][0]
    )
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("value", ["١٢", "١", "²", "9" * 30])
def test_a_workflows_campaign_or_priority_of_digits_that_are_not_ascii_is_refused(
    admin_client, program, value
):
    """Django read "١٢" as 12: a priority nobody typed, and "١" chose campaign 1."""
    campaign = Campaign.objects.create(
        name="C", starts_at="2026-01-01T00:00Z", ends_at="2026-02-01T00:00Z", max_bonus_points=10
    )
    graph = json.dumps(chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 1}}))
    for field, data in (("priority", {"priority": value}), ("campaign", {"priority": 1, "campaign": value})):
        response = admin_client.post(reverse("workflows:workflow_add"), {"name": "W", "graph": graph, **data})
        assert response.status_code == 200 and response.context["form"].errors[field], (field, value)
    response = admin_client.post(
        reverse("workflows:campaign_edit", args=[campaign.pk]),
        {"name": "C", "starts_at": "2026-01-01T00:00", "ends_at": "2026-02-01T00:00", "limit_behavior": "soft",
         "max_bonus_points": value, "max_customer_points": value},
    )  # fmt: skip
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"max_bonus_points", "max_customer_points"}
    assert not Workflow.objects.exists() and Campaign.objects.get().max_bonus_points == 10


def test_saving_a_campaigns_settings_keeps_the_counters_paid_meanwhile(program):
    """The console saved the campaign it had read whole: a bonus paid between the read and the
    save (its counters are written under the row's lock) was taken back from the counters, so
    the caps would pay it again. Only the form's fields are written now."""
    from workflows.forms import CampaignForm
    from workflows.views import CampaignEditView

    from .conftest import make_campaign

    campaign = make_campaign(max_bonus_points=1000)
    read = Campaign.objects.get(pk=campaign.pk)  # the console's copy
    Campaign.objects.filter(pk=campaign.pk).update(distributed_points=400, participants=3)  # a bonus
    form = CampaignForm(
        {"name": "Renamed", "starts_at": "2026-01-01T00:00", "ends_at": "2026-02-01T00:00",
         "max_bonus_points": "1000", "limit_behavior": "soft"},
        instance=read,
    )  # fmt: skip
    assert form.is_valid(), form.errors
    view = CampaignEditView()
    view.request = types.SimpleNamespace(environment="live")
    view.save(form)  # what the console's edit page saves
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.name, saved.distributed_points, saved.participants) == ("Renamed", 400, 3)


def test_saving_a_workflows_settings_keeps_a_status_changed_meanwhile(program):
    """The editor saved the workflow it had read whole: an activation between the read and the
    save (another user, the API) was undone. Only the form's fields are written now."""
    from workflows import editing
    from workflows.forms import WorkflowForm

    workflow = make_workflow(
        chain(on_event("login"), {"id": "a", "type": "point_add", "config": {"points": 1}}), active=False
    )
    read = Workflow.objects.get(pk=workflow.pk)  # the editor's copy
    editing.set_status(Workflow.objects.get(pk=workflow.pk), True)  # meanwhile
    form = WorkflowForm({"name": "Renamed", "priority": 5}, instance=read, environment="live")
    assert form.is_valid(), form.errors
    editing.save_settings(form.save(commit=False), form.Meta.fields)
    saved = Workflow.objects.get(pk=workflow.pk)
    assert (saved.name, saved.priority, saved.status) == ("Renamed", 5, "active")


def test_the_versions_box_counts_every_version_and_says_when_it_shows_only_the_latest(admin_client, program):
    from workflows import editing

    workflow = make_workflow(GRAPH)
    for points in range(5, 26):  # 21 saves more: versions 2 .. 22
        graph = chain(on_event("login"), {"id": "bonus", "type": "point_add", "config": {"points": points}})
        editing.save_graph(workflow, graph)
    page = admin_client.get(reverse("workflows:workflow_detail", args=[workflow.pk])).content.decode()
    assert "Versions (22)" in page
    assert "The latest 20 of 22" in page
    assert "<li>v22 " in page and "<li>v3 " in page and "<li>v2 " not in page
