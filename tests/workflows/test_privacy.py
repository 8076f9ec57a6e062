"""Opt-out clears what runs kept of the customer; a merge moves runs and campaign bonus points."""

import pytest

from tests import factories
from workflows.models import CampaignParticipant, RunStep, WorkflowRun

from .conftest import chain, make_campaign, make_workflow, on_event

pytestmark = pytest.mark.django_db


def test_opt_out_scrubs_run_variables_details_and_interrupt_messages(program, anna, on_commit):
    make_workflow(
        chain(
            on_event("login"),
            {"id": "v", "type": "variable_assign", "config": {"name": "who", "value": "customer.email"}},
            {
                "id": "m",
                "type": "modify_customer",
                "config": {"set": {"nickname": "{customer.first_name} the great"}},
            },
        )
    )
    make_workflow(
        chain(
            on_event("opt_in"),
            {"id": "stop", "type": "interrupt", "config": {"code": 11111, "message": "No {event.email}"}},
            branch="modifier",
        ),
        name="stopper",
    )
    on_commit(lambda: factories.register("login"))
    with pytest.raises(Exception):  # noqa: B017 (the Interrupt)
        factories.register("opt_in", "Other-9", {"email": "anna@example.com"})
    dump = str(list(WorkflowRun.objects.values())) + str(list(RunStep.objects.values()))
    assert "anna@example.com" in dump
    factories.register("opt_out")
    dump = str(list(WorkflowRun.objects.values())) + str(list(RunStep.objects.values()))
    assert "anna@example.com" not in dump and "Anna the great" not in dump


def test_merge_moves_runs_and_campaign_points(program, on_commit):
    campaign = make_campaign(max_customer_points=100)
    make_workflow(
        chain(on_event("login"), {"id": "b", "type": "campaign_bonus", "config": {"points": 30}}),
        campaign=campaign,
    )
    for customer in ("Keep-1", "Gone-2"):
        factories.enroll(customer)
        on_commit(lambda customer=customer: factories.register("login", customer))
    factories.register("merge", "Keep-1", {"source": "Gone-2"})
    keep = factories.live("Keep-1")
    assert WorkflowRun.objects.filter(customer=keep).count() == 2
    assert list(CampaignParticipant.objects.values_list("customer_id", "points")) == [(keep.pk, 60)]
