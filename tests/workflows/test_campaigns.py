"""Campaign bonus and caps: soft / dynamic / hard, per customer, and 64 concurrent events on PostgreSQL."""

import threading

import pytest
from django.db import connection, connections

from events.models import Event
from loyalty.models import LedgerEntry, Program
from loyalty.models.ledger import EntryKind
from tests import factories
from tests.conftest import is_postgres
from workflows.campaigns import CapReached
from workflows.models import Campaign, CampaignParticipant, RunStep, WorkflowRun

from .conftest import chain, make_campaign, make_workflow, on_event


def _campaign_workflow(campaign, points="{event.points}"):
    return make_workflow(
        chain(
            on_event("point_add"),
            {
                "id": "only_api",
                "type": "filter_event",
                "config": {
                    "conditions": {"conditions": [{"field": "points", "operator": "gt", "value": "0"}]}
                },
            },
            {
                "id": "bonus",
                "type": "campaign_bonus",
                "config": {"points": points, "description": "Double points"},
            },
        ),
        campaign=campaign,
    )


def _bonus_total(workflow) -> int:
    return sum(Event.objects.filter(workflow_id=workflow.pk).values_list("points", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("behavior", "expected_total", "expected_last"),
    [("soft", 120, 60), ("dynamic", 100, 40), ("hard", 60, None)],
)
def test_the_limit_behaviour_decides_the_bonus_that_crosses_the_cap(
    program, anna, on_commit, behavior, expected_total, expected_last
):
    campaign = make_campaign(max_bonus_points=100, limit_behavior=behavior)
    workflow = _campaign_workflow(campaign)
    for _ in range(3):
        on_commit(lambda: factories.register("point_add", data={"points": 60}))
    assert _bonus_total(workflow) == expected_total
    campaign.refresh_from_db()
    assert campaign.distributed_points == expected_total
    assert campaign.participants == 1
    runs = list(WorkflowRun.objects.filter(workflow=workflow).order_by("id"))
    assert runs[-1].status == "error"  # the cap refused the third bonus: logged with its reason
    assert "cap" in runs[-1].error


@pytest.mark.django_db
def test_the_customer_cap_holds_per_customer(program, on_commit):
    campaign = make_campaign(max_customer_points=50, limit_behavior="dynamic")
    workflow = _campaign_workflow(campaign)
    for customer in ("A-1", "B-1"):
        factories.enroll(customer)
        for _ in range(2):
            on_commit(lambda customer=customer: factories.register("point_add", customer, {"points": 40}))
    assert list(CampaignParticipant.objects.order_by("id").values_list("points", flat=True)) == [50, 50]
    assert _bonus_total(workflow) == 100


@pytest.mark.django_db
def test_a_zero_cap_gives_no_bonus_and_a_campaign_outside_its_dates_none_either(program, anna, on_commit):
    campaign = make_campaign(max_bonus_points=0)
    workflow = _campaign_workflow(campaign)
    on_commit(lambda: factories.register("point_add", data={"points": 10}))
    assert _bonus_total(workflow) == 0
    Campaign.objects.filter(pk=campaign.pk).update(max_bonus_points=None, ends_at=campaign.starts_at)
    on_commit(lambda: factories.register("point_add", data={"points": 10}))
    assert _bonus_total(workflow) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_64_concurrent_qualifying_events_never_exceed_the_cap(program):
    if not is_postgres():
        pytest.skip("row locks need PostgreSQL")
    Program.objects.filter(pk=program.pk).update(workflows=True)
    campaign = make_campaign(max_bonus_points=1000, limit_behavior="dynamic")
    workflow = _campaign_workflow(campaign, points=30)
    customers = [f"C-{n}" for n in range(64)]
    for customer in customers:
        factories.enroll(customer)
    barrier = threading.Barrier(16)
    errors = []

    def worker(chunk):
        try:
            barrier.wait()
            for customer in chunk:
                factories.register("point_add", customer, {"points": 10})
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(customers[i::16],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    campaign.refresh_from_db()
    assert campaign.distributed_points == 1000
    assert _bonus_total(workflow) == 1000
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 64
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_the_bonus_is_a_campaign_bonus_event_earned_like_point_add(program, anna, on_commit):
    campaign = make_campaign(max_bonus_points=100, limit_behavior="dynamic")
    workflow = _campaign_workflow(campaign, points="{event.points} * 2")
    on_commit(lambda: factories.register("point_add", data={"points": 30}))
    bonus = Event.objects.get(workflow_id=workflow.pk)
    assert (bonus.action, bonus.label, bonus.points, bonus.source) == (
        "campaign_bonus",
        "Campaign bonus",
        60,
        "automation",
    )
    assert bonus.data == {"points": 60, "campaign": campaign.pk} and bonus.reason == "Double points"
    assert factories.live().spendable == 30 + 60
    assert LedgerEntry.objects.get(event=bonus).kind == EntryKind.EARN
    # The dynamic limit cuts the next one to what is left: the event's points are what was paid,
    # its data what was asked.
    on_commit(lambda: factories.register("point_add", data={"points": 30}))
    cut = Event.objects.filter(workflow_id=workflow.pk).latest("id")
    assert (cut.points, cut.data["points"]) == (40, 60)
    detail = RunStep.objects.get(event=cut).detail
    assert (detail["points_wanted"], detail["points"], detail["event_action"]) == (60, 40, "campaign_bonus")
    # Reversible like point_add: a point_sub takes it back; the campaign keeps what it paid.
    factories.register("point_sub", data={"points": 100})
    assert factories.live().spendable == 30 + 30
    campaign.refresh_from_db()
    assert campaign.distributed_points == 100


@pytest.mark.django_db
def test_campaign_bonus_is_internal_and_its_handler_refuses_without_a_trace(program, anna):
    from events.engine import register_event
    from loyalty.errors import InternalAction, NotFound

    with pytest.raises(InternalAction):
        factories.register("campaign_bonus", data={"points": 10, "campaign": 1})
    before = factories.counts()
    with pytest.raises(NotFound) as missing:
        register_event(
            environment="live",
            customer="Anna-1",
            action="campaign_bonus",
            data={"points": 10, "campaign": 999},
            internal=True,
        )
    assert missing.value.field == "data.campaign" and factories.counts() == before
    campaign = make_campaign(max_bonus_points=0)
    with pytest.raises(CapReached) as capped:
        register_event(
            environment="live",
            customer="Anna-1",
            action="campaign_bonus",
            data={"points": 10, "campaign": campaign.pk},
            internal=True,
        )
    assert capped.value.field == "data.points" and factories.counts() == before
    assert not CampaignParticipant.objects.exists()


@pytest.mark.django_db
def test_the_events_tab_names_the_workflow_and_campaign_of_a_bonus(admin_client, program, anna, on_commit):
    from django.urls import reverse

    campaign = make_campaign(name="Weekend doubles")
    workflow = _campaign_workflow(campaign)
    on_commit(lambda: factories.register("point_add", data={"points": 30}))
    bonus = Event.objects.get(workflow_id=workflow.pk)
    html = admin_client.get(reverse("customers:customer_events", args=["Anna-1"])).content.decode()
    assert "Campaign bonus" in html and "Weekend doubles" in html and 'data-testid="event-campaign"' in html
    assert reverse("workflows:workflow_detail", args=[workflow.pk]) in html
    detail = admin_client.get(
        reverse("customers:customer_event_detail", args=["Anna-1", bonus.pk])
    ).content.decode()
    assert "Weekend doubles" in detail and "node bonus" in detail
