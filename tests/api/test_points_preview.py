"""`POST /api/extensions/automation/campaign-bonus` (the reference's Points Preview API): the
points a checkout would earn, base and campaign bonuses, by a dry run; nothing stored; the preview
equals what the checkout then earns."""

import pytest

from events.models import Event
from tests.factories import enroll
from tests.workflows.conftest import chain, make_campaign, make_workflow, on_event
from transactions.models import Transaction
from workflows.models import Campaign, CampaignParticipant, RunStep, WorkflowRun

pytestmark = pytest.mark.django_db


def preview(api, data, **extra):
    return api.post(
        "/api/extensions/automation/campaign-bonus",
        json={"customer": "Anna-1", "action": "checkout", "data": data, **extra},
    )


ORDERS = [
    {"transaction_id": "P-1", "total": "200"},
    {"transaction_id": "P-2", "total": "23.99"},
    {
        "transaction_id": "P-3",
        "total": "23",
        "items": [
            {"product_id": "prd", "price": "12.23", "discount": "1.23", "quantity": 3, "subtotal": "33"}
        ],
    },
]


@pytest.mark.parametrize("order", ORDERS)
def test_the_preview_is_what_the_checkout_then_earns_and_stores_nothing(api, program, order):
    enroll()
    before = (Event.objects.count(), Transaction.objects.count())
    response = preview(api, order)
    assert response.status_code == 200, response.content
    body = response.json()["data"]
    assert body["campaigns"] == [] and body["purchase"]["bonus"] == 0
    assert (Event.objects.count(), Transaction.objects.count()) == before
    registered = api.post("/api/events", json={"customer": "Anna-1", "action": "checkout", "data": order})
    assert registered.status_code == 200
    earned = Transaction.objects.get(transaction_id=order["transaction_id"]).points_earned
    assert body["purchase"] == {"base": earned, "bonus": 0, "points": earned}
    # an order already sent can still be previewed
    assert preview(api, order).json()["data"]["purchase"]["points"] == earned


def test_a_rule_of_two_points_per_unit_previews_400_for_200(api, program):
    from loyalty.ledger.accounts import default_account
    from transactions.models import EarningRule

    EarningRule.objects.create(account=default_account(), points_per_unit=2)
    enroll()
    assert preview(api, ORDERS[0]).json()["data"]["purchase"] == {"base": 400, "bonus": 0, "points": 400}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "Anna-1", "action": "point_add", "data": {"points": 1}}, "action"),
        ({"customer": "Anna-1", "action": "checkout", "data": {"total": "5"}}, "data.transaction_id"),
        (
            {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": "x", "total": "-1"}},
            "data.total",
        ),
        # The shop's transaction ID, checked as the checkout checks it (the preview replaces it).
        (
            {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": ["x"]}},
            "data.transaction_id",
        ),
        (
            {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": "T\x001"}},
            "data.transaction_id",
        ),
        (
            {"customer": "Anna-1", "action": "checkout", "data": {"transaction_id": "T" * 129}},
            "data.transaction_id",
        ),
    ],
)
def test_bad_requests_are_the_envelope(api, program, body, field):
    enroll()
    response = api.post("/api/extensions/automation/campaign-bonus", json=body)
    assert 400 <= response.status_code < 500 and response.json()["error"]["field"] == field


# --- Campaign bonuses: the running campaigns' workflows, dry-run -----------------------------------

ORDER = {"transaction_id": "C-1", "total": "200"}


@pytest.fixture
def workflows_on(program):
    """The Workflows module on, one point per unit spent, Anna-1 enrolled."""
    from loyalty.ledger.accounts import default_account
    from transactions.models import EarningRule

    program.workflows = True
    program.save()
    EarningRule.objects.create(account=default_account(), points_per_unit=1)
    enroll()
    return program


def bonus_workflow(campaign, points="{event.points} * 2", *before, **kwargs):
    """A campaign workflow on checkout: `before` nodes, then a Campaign bonus of `points`."""
    bonus = {"id": "bonus", "type": "campaign_bonus", "config": {"points": points, "description": "Bonus"}}
    return make_workflow(chain(on_event("checkout"), *before, bonus), campaign=campaign, **kwargs)


def stored_state() -> tuple:
    campaigns = tuple(Campaign.objects.order_by("id").values_list("distributed_points", "participants"))
    return (
        Event.objects.count(),
        Transaction.objects.count(),
        WorkflowRun.objects.count(),
        RunStep.objects.count(),
        tuple(CampaignParticipant.objects.order_by("id").values_list("points", flat=True)),
        campaigns,
    )


def test_a_double_points_campaign_previews_its_bonus_and_the_checkout_then_pays_it(
    api, workflows_on, django_capture_on_commit_callbacks
):
    campaign = make_campaign(name="Double points")
    workflow = bonus_workflow(campaign)
    body = preview(api, ORDER).json()["data"]
    base = body["purchase"]["base"]
    assert base == 200
    assert body["campaigns"] == [
        {
            "automation": str(workflow.pk),
            "points": 400,
            "campaign": {
                "id": str(campaign.pk),
                "name": "Double points",
                "issued_points": 0,
                "customer_points": 0,
            },
        }
    ]
    assert body["purchase"] == {"base": 200, "bonus": 400, "points": 600}
    assert "errors" not in body
    # the real checkout (its action branch runs inline on commit) pays exactly what was previewed
    with django_capture_on_commit_callbacks(execute=True):
        registered = api.post("/api/events", json={"customer": "Anna-1", "action": "checkout", "data": ORDER})
    assert registered.status_code == 200
    paid = Event.objects.filter(workflow_id=workflow.pk).values_list("points", flat=True)
    assert list(paid) == [400]
    campaign.refresh_from_db()
    # the next preview sees the campaign's and the customer's bonus so far
    again = preview(api, ORDER).json()["data"]["campaigns"][0]["campaign"]
    assert (
        (again["issued_points"], again["customer_points"]) == (400, 400) == (campaign.distributed_points,) * 2
    )


@pytest.mark.parametrize(
    ("caps", "behavior", "expected"),
    [
        ({"max_bonus_points": 1000}, "dynamic", 300),  # 700 of 1000 paid: 300 left
        ({"max_customer_points": 300}, "dynamic", 250),  # the customer has 50 of 300
        ({"max_bonus_points": 1000}, "soft", 400),  # soft: paid in full while anything is left
        ({"max_bonus_points": 1000}, "hard", None),  # hard: the bonus that crosses the cap is refused
        ({"max_bonus_points": 700}, "dynamic", None),  # nothing left
    ],
)
def test_a_capped_campaign_previews_at_most_what_is_left(api, workflows_on, caps, behavior, expected):
    from customers.models import Customer

    campaign = make_campaign(limit_behavior=behavior, distributed_points=700, participants=1, **caps)
    CampaignParticipant.objects.create(campaign=campaign, customer=Customer.objects.get(), points=50)
    bonus_workflow(campaign)
    body = preview(api, ORDER).json()["data"]
    if expected is None:
        assert body["campaigns"] == [] and body["purchase"]["bonus"] == 0
        assert [error["code"] for error in body["errors"]] == [160430]  # as the run would log it
    else:
        assert [entry["points"] for entry in body["campaigns"]] == [expected]
        assert body["purchase"] == {"base": 200, "bonus": expected, "points": 200 + expected}


def test_two_bonuses_of_one_campaign_share_its_cap_within_one_preview(api, workflows_on):
    campaign = make_campaign(max_bonus_points=500, limit_behavior="dynamic")
    first = bonus_workflow(campaign, name="First", priority=1)
    second = bonus_workflow(campaign, name="Second", priority=2)
    body = preview(api, ORDER).json()["data"]
    assert [(entry["automation"], entry["points"]) for entry in body["campaigns"]] == [
        (str(first.pk), 400),
        (str(second.pk), 100),
    ]
    assert body["purchase"]["bonus"] == 500


def test_a_filter_that_does_not_match_gives_no_entry_and_one_that_matches_does(api, workflows_on):
    def big_orders(threshold):
        return {
            "id": "big",
            "type": "filter_event",
            "config": {
                "conditions": {"conditions": [{"field": "total", "operator": "gt", "value": threshold}]}
            },
        }

    bonus_workflow(make_campaign(name="Big orders"), "100", big_orders("1000"))
    matching = bonus_workflow(make_campaign(name="Any order"), "100", big_orders("10"))
    body = preview(api, ORDER).json()["data"]
    assert [entry["automation"] for entry in body["campaigns"]] == [str(matching.pk)]
    assert "errors" not in body


def test_inactive_workflows_and_campaigns_not_running_now_are_left_out(api, workflows_on):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    bonus_workflow(make_campaign(name="Inactive"), active=False)
    bonus_workflow(make_campaign(name="Ended", ends_at=now - dt.timedelta(hours=1)))
    bonus_workflow(make_campaign(name="Not yet", starts_at=now + dt.timedelta(hours=1)))
    running = bonus_workflow(make_campaign(name="Running"), "10")
    make_workflow(chain(on_event("checkout"), {"id": "p", "type": "point_add", "config": {"points": 5}}))
    body = preview(api, ORDER).json()["data"]
    assert [entry["automation"] for entry in body["campaigns"]] == [str(running.pk)]
    assert body["purchase"] == {"base": 200, "bonus": 10, "points": 210}


@pytest.mark.parametrize("points", ["{event.points} / ({event.points} - {event.points})", "{event.nope} * 2"])
def test_an_expression_error_in_a_campaign_is_reported_not_a_500(api, workflows_on, points):
    broken = bonus_workflow(make_campaign(name="Broken"), points, priority=1)
    fine = bonus_workflow(make_campaign(name="Fine"), "25", priority=2)
    response = preview(api, ORDER)
    assert response.status_code == 200, response.content
    body = response.json()["data"]
    assert [entry["automation"] for entry in body["campaigns"]] == [str(fine.pk)]
    assert body["purchase"]["bonus"] == 25
    [error] = body["errors"]
    assert error["automation"] == str(broken.pk) and error["campaign"]["name"] == "Broken"
    assert error["code"] == 113450 and "Expression error" in error["message"]


def test_a_preview_stores_nothing(api, workflows_on, django_capture_on_commit_callbacks):
    from customers.models import Customer

    campaign = make_campaign(max_bonus_points=10_000, distributed_points=100, participants=1)
    CampaignParticipant.objects.create(campaign=campaign, customer=Customer.objects.get(), points=100)
    bonus_workflow(campaign)
    bonus_workflow(make_campaign(name="Broken"), "{event.nope}")
    before = stored_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = preview(api, ORDER).json()["data"]
    assert body["purchase"]["bonus"] == 400 and len(body["errors"]) == 1  # it did run both
    assert stored_state() == before
    assert callbacks == []  # no queued workflow task, webhook or other on-commit work


def test_multi_accounts_lists_the_bonus_under_its_account(api, workflows_on):
    program = workflows_on
    program.multi_accounts = True
    program.save()
    workflow = bonus_workflow(make_campaign(name="Double"))
    body = preview(api, ORDER).json()["data"]
    [account] = body["accounts"]
    assert account["purchase"] == body["purchase"] == {"base": 200, "bonus": 400, "points": 600}
    assert [entry["automation"] for entry in account["campaigns"]] == [str(workflow.pk)]


def test_an_interrupt_on_checkout_answers_its_error_and_logs_no_run(api, workflows_on):
    make_workflow(
        chain(
            on_event("checkout"),
            {"id": "stop", "type": "interrupt", "config": {"code": 54321, "message": "Not today"}},
            branch="modifier",
        )
    )
    before = stored_state()
    response = preview(api, ORDER)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == 54321
    assert stored_state() == before  # a real checkout would have logged the interrupted run
    registered = api.post("/api/events", json={"customer": "Anna-1", "action": "checkout", "data": ORDER})
    assert registered.status_code == 422 and WorkflowRun.objects.count() == 1


def test_a_modify_event_in_the_modifier_branch_is_what_the_bonus_sees(api, workflows_on):
    campaign = make_campaign()
    make_workflow(
        chain(
            on_event("checkout"),
            {"id": "m", "type": "modify_event", "config": {"set": {"total": "50"}}},
            branch="modifier",
        ),
        priority=1,
    )
    bonus_workflow(campaign, "{event.total}", priority=2)
    body = preview(api, ORDER).json()["data"]
    assert body["purchase"] == {"base": 50, "bonus": 50, "points": 100}
