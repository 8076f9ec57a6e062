"""Per-customer budgets: enforcement by the engine, periods, the console pages and tab, API,
and (PostgreSQL) 64 simultaneous requests never exceeding a limit."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from budgets.enforcement import period_bounds
from budgets.models import Budget, BudgetCounter
from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from events.models import Event
from loyalty.errors import BusinessRuleError
from loyalty.models import Program
from tests.api.conftest import ApiClient
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

NOW = dt.datetime(2025, 5, 14, 12, 0, tzinfo=dt.UTC)  # a Wednesday


def reg(action, customer="ada", source=EventSource.API, **data):
    return register_event(environment="live", customer=customer, action=action, data=data, source=source)


def _module():
    program = Program.objects.get_or_create()[0]
    program.budgets = True
    program.save()
    return program


@pytest.fixture
def module(db):
    with time_machine.travel(NOW, tick=False) as traveller:
        program = _module()
        reg("opt_in")
        yield traveller, program


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("daily", dt.date(2025, 5, 14), dt.date(2025, 5, 14)),
        ("weekly", dt.date(2025, 5, 12), dt.date(2025, 5, 18)),
        ("monthly", dt.date(2025, 5, 1), dt.date(2025, 5, 31)),
        ("yearly", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    ],
)
def test_period_bounds(period, start, end):
    assert period_bounds(period, NOW, "UTC") == (start, end)


@pytest.mark.django_db
def test_points_awarded_budget(module):
    traveller, _program = module
    Budget.objects.create(campaign="Spring", action="points_awarded", limit=100, period="daily")
    reg("point_add", points=60)
    reg("point_add", points=40)
    with pytest.raises(BusinessRuleError) as error:
        reg("point_add", points=1)
    assert "limited to 100 per day" in error.value.message
    assert Customer.objects.get().spendable == 100
    assert Event.objects.filter(action="point_add").count() == 2  # the refused one left nothing
    traveller.move_to(NOW + dt.timedelta(days=1))  # a new period
    reg("point_add", points=100)
    assert BudgetCounter.objects.count() == 2


@pytest.mark.django_db
def test_console_adjustments_are_not_limited(module):
    Budget.objects.create(campaign="Spring", action="points_awarded", limit=10, period="daily")
    reg("point_add", points=500, source=EventSource.PLATFORM)
    assert Customer.objects.get().spendable == 500


@pytest.mark.django_db
def test_referral_redemptions_budget(module):
    _traveller, program = module
    program.referrals = True
    program.save()
    Budget.objects.create(campaign="Friends", action="referral_redemptions", limit=0, period="monthly")
    reg("referral_code_create", code="ADA-1", usage_limit=0)
    with pytest.raises(BusinessRuleError):
        reg("opt_in", customer="fred", referral_code="ADA-1")
    assert not Customer.objects.filter(customer_id="fred").exists()


@pytest.mark.django_db
def test_module_off_or_inactive_budget_limits_nothing(module):
    _traveller, program = module
    budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=1, period="daily")
    budget.active = False
    budget.save()
    reg("point_add", points=5)
    budget.active = True
    budget.save()
    program.budgets = False
    program.save()
    reg("point_add", points=5)
    assert not BudgetCounter.objects.exists()


@pytest.mark.django_db
def test_console_pages_and_tab(client, cast, module):
    Budget.objects.create(campaign="Spring", action="points_awarded", limit=100, period="weekly")
    Budget.objects.create(campaign="Autumn", action="coupon_redemptions", limit=3, period="monthly")
    reg("point_add", points=30)
    url = reverse("budgets:customer_budgets", kwargs={"ref": "ada"})
    html = assert_page_access(client, cast, url, allowed=STAFF_ROLES)["support_agent"].content.decode()
    for column in ("Campaign", "Action", "Coupon value", "Used", "Limit period", "Resets"):
        assert f"<th>{column}</th>" in html
    assert "30 / 100" in html and "Weekly" in html
    assert ">2025-05-12</time> – <time" in html and ">2025-05-18</time>" in html  # the one date format
    client.force_login(cast["administrator"])
    html = client.get(url, {"campaign": "Autumn"}).content.decode()
    assert "Autumn" in html and "Spring" not in html
    html = client.get(url, {"coupon": "NOPE"}).content.decode()
    assert "No budgets match" in html
    assert_page_access(client, cast, reverse("budgets:budget_list"), allowed=STAFF_ROLES)
    assert_page_access(
        client, cast, reverse("budgets:budget_add"), allowed=("administrator", "program_manager")
    )


@pytest.mark.django_db
def test_negative_limit_is_a_form_error(admin_client, module):
    data = {"campaign": "X", "action": "points_awarded", "limit": -5, "period": "daily", "active": "on"}
    response = admin_client.post(reverse("budgets:budget_add"), data)
    assert response.status_code == 200 and "limit" in response.context["form"].errors
    assert not Budget.objects.exists()


@pytest.mark.django_db
def test_module_off_hides_pages(admin_client, module):
    _traveller, program = module
    program.budgets = False
    program.save()
    assert admin_client.get(reverse("budgets:budget_list")).status_code == 404
    assert admin_client.get(reverse("budgets:customer_budgets", kwargs={"ref": "ada"})).status_code == 404


@pytest.mark.django_db
def test_api(client, module):
    from loyalty.api.keys import create_api_key

    Budget.objects.create(campaign="Spring", action="points_awarded", limit=100, period="monthly")
    reg("point_add", points=7)
    api_key, secret = create_api_key(name="shop", environment="live")
    body = ApiClient(client, api_key, secret).get("/api/customers/ada/budgets").json()
    assert body["budgets"][0]["counter"] == 7 and body["budgets"][0]["periodStart"] == "2025-05-01"


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_64_simultaneous_requests_never_exceed_a_budget():
    from tests.loyalty.test_ledger_concurrency import run_at_once

    _module()
    register_event(environment="live", customer="racer", action="opt_in", data={})
    Budget.objects.create(campaign="Race", action="points_awarded", limit=250, period="daily")

    def earn(_index):
        return register_event(environment="live", customer="racer", action="point_add", data={"points": 10})

    results = run_at_once(64, earn)
    refused = [r for r in results if isinstance(r, BusinessRuleError)]
    assert len(refused) == 64 - 25, [r for r in results if isinstance(r, Exception) and r not in refused]
    assert Customer.objects.get(customer_id="racer").spendable == 250
    assert BudgetCounter.objects.get().counter == 250


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Budapest", "America/Sao_Paulo", "Pacific/Apia", "Asia/Kolkata"]
)
def test_period_start_cache_agrees_with_period_bounds(zone):
    """budgets.enforcement.period_start caches the current period's instants per process; walking
    hour by hour across a year (DST changes, month and year ends) in one zone, every answer is
    period_bounds' first day, asked in and out of order."""
    from budgets.enforcement import period_start

    moments = [dt.datetime(2024, 12, 28, tzinfo=dt.UTC) + dt.timedelta(hours=7 * i) for i in range(1300)]
    for period in ("daily", "weekly", "monthly", "yearly"):
        for moment in [*moments, *moments[::-13]]:
            assert period_start(period, moment, zone) == period_bounds(period, moment, zone)[0], (
                period,
                moment,
            )
