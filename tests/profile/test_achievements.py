"""Achievements: progress by the engine, reversals, periods, recurrence, completion event,
locked definitions, the tab per role and the API."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from achievements.models import Achievement, AchievementProgress
from events.engine import register_event
from events.models import Event
from loyalty.models import Program
from tests.api.conftest import ApiClient
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access
from tests.transactions.helpers import rule

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2025, 5, 14, 12, 0, tzinfo=dt.UTC)


def reg(action, customer="ada", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        program = Program.objects.get_or_create()[0]
        program.achievements = True
        program.save()
        reg("opt_in")
        yield traveller


def logins(**extra):
    return Achievement.objects.create(
        api_name="login_5",
        title="Five logins",
        campaign="Spring",
        counts="events",
        action="login",
        target=5,
        **extra,
    )


def run(api_name="login_5", customer="ada"):
    return (
        AchievementProgress.objects.filter(achievement__api_name=api_name, customer__customer_id=customer)
        .order_by("-start_at")
        .first()
    )


def test_progress_and_completion_event(clock):
    logins(period_amount=1, period_unit="weeks")
    for _ in range(4):
        reg("login")
    assert run().progress == 4 and run().status == "in_progress"
    assert run().start_at == NOW and run().end_at == NOW + dt.timedelta(weeks=1)
    result = reg("login")
    assert run().status == "completed" and run().completed_at == NOW
    completed = Event.objects.get(action="achievement_completed")
    assert completed.parent_id == result.event.pk and completed.data["achievement"] == "login_5"
    reg("login")  # no recurrence: nothing more
    assert AchievementProgress.objects.count() == 1 and run().progress == 5


def test_expiry_and_recurrence_on_expiration(clock):
    logins(period_amount=1, period_unit="days", period_rounding="end_of_day", recurrence="on_expiration")
    reg("login")
    assert run().end_at == dt.datetime(2025, 5, 15, 23, 59, 59, tzinfo=dt.UTC)
    clock.move_to(NOW + dt.timedelta(days=3))
    reg("login")
    runs = list(AchievementProgress.objects.order_by("start_at"))
    assert [r.status for r in runs] == ["expired", "in_progress"] and runs[1].progress == 1


def test_recurrence_on_completion(clock):
    logins(recurrence="on_completion")
    for _ in range(6):
        reg("login")
    runs = list(AchievementProgress.objects.order_by("id"))
    assert [r.status for r in runs] == ["completed", "in_progress"]


def test_purchase_milestone_rolled_back_by_refunds(clock):
    rule()
    Achievement.objects.create(api_name="spend_500", title="Spend 500", counts="purchase_total", target=500)
    reg("checkout", transaction_id="T-1", total=300)
    reg("checkout", transaction_id="T-2", total=150)
    assert run("spend_500").progress == 450
    reg("partial_refund", transaction_id="T-2", amount="100")
    assert run("spend_500").progress == 350
    reg("checkout", transaction_id="T-3", total=150)
    assert run("spend_500").status == "completed"


def test_checkout_count_rolled_back_by_a_rejection(clock):
    rule()
    Achievement.objects.create(
        api_name="three_orders", title="Three orders", counts="events", action="checkout", target=3
    )
    reg("checkout", transaction_id="T-1", total=10)
    reg("checkout", transaction_id="T-2", total=10)
    reg("checkout_reject", transaction_id="T-2")
    assert run("three_orders").progress == 1


def test_fixed_schedule_and_end_date(clock):
    logins(
        activation="fixed_schedule",
        start_date=dt.datetime(2025, 5, 1, tzinfo=dt.UTC),
        period_amount=1,
        period_unit="weeks",
        end_date=dt.datetime(2025, 5, 20, tzinfo=dt.UTC),
    )
    reg("login")
    assert run().start_at == dt.datetime(2025, 5, 8, tzinfo=dt.UTC)
    assert run().end_at == dt.datetime(2025, 5, 15, tzinfo=dt.UTC)
    clock.move_to(dt.datetime(2025, 5, 21, tzinfo=dt.UTC))
    reg("login")
    assert AchievementProgress.objects.count() == 1  # after the end date nothing counts


def test_module_off_counts_nothing(clock):
    logins()
    program = Program.objects.get()
    program.achievements = False
    program.save()
    reg("login")
    assert not AchievementProgress.objects.exists()


def test_definitions_lock_target_and_period(admin_client, clock):
    achievement = logins()
    data = {
        "api_name": "login_5",
        "title": "Five logins",
        "campaign": "",
        "counts": "events",
        "action": "login",
        "target": "9",
        "period_amount": "3",
        "period_unit": "months",
        "period_rounding": "none",
        "recurrence": "none",
        "activation": "first_action",
        "active": "on",
    }
    url = reverse("achievements:achievement_edit", args=[achievement.pk])
    assert admin_client.post(url, data).status_code == 302
    assert Achievement.objects.get().target == 9
    reg("login")
    assert admin_client.post(url, {**data, "target": "2", "title": "Renamed"}).status_code == 302
    achievement.refresh_from_db()
    assert achievement.target == 9 and achievement.title == "Renamed"  # locked field kept


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "0"}, "target"),
        ({"target": "-1"}, "target"),
        ({"api_name": "9bad"}, "api_name"),
        ({"action": ""}, "action"),
        ({"activation": "fixed_schedule"}, "start_date"),
        ({"period_amount": "1000"}, "period_amount"),
    ],
)
def test_bad_definitions(admin_client, clock, change, field):
    data = {
        "api_name": "x_1",
        "title": "X",
        "counts": "events",
        "action": "login",
        "target": "3",
        "period_amount": "1",
        "period_unit": "months",
        "period_rounding": "none",
        "recurrence": "none",
        "activation": "first_action",
    }
    response = admin_client.post(reverse("achievements:achievement_add"), {**data, **change})
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Achievement.objects.exists()


def test_tab_per_role(client, cast, clock):
    logins()
    Achievement.objects.create(api_name="other", title="Other", counts="events", action="profile", target=1)
    reg("login")
    url = reverse("achievements:customer_achievements", kwargs={"ref": "ada"})
    html = assert_page_access(client, cast, url, allowed=STAFF_ROLES)["analyst"].content.decode()
    for column in (
        "Achievement name",
        "API name",
        "Campaign",
        "Progress",
        "Target",
        "Status",
        "Start",
        "End",
        "Completed on",
    ):
        assert f">{column}</th>" in html
    assert "In progress" in html and "Not started" in html


def test_api(client, clock):
    from loyalty.api.keys import create_api_key

    logins()
    reg("login")
    api_key, secret = create_api_key(name="shop", environment="live")
    api = ApiClient(client, api_key, secret)
    body = api.get("/api/customers/ada/achievements").json()
    assert (
        body["achievements"][0]["progress"] == "1.00" and body["achievements"][0]["status"] == "in_progress"
    )
    history = api.get("/api/customers/ada/achievements/login_5/history").json()
    assert len(history["history"]) == 1
    assert api.get("/api/customers/ada/achievements/nope/history").status_code == 404
