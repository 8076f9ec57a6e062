"""The Loyalty points tab (003): ledgers, figures, 003's columns, actions per role with a
required reason, the engine's refusals as form errors, and the transaction log export."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from events.engine import register_event
from events.models import Event
from loyalty.audit.models import ChangeLogEntry
from loyalty.models import PointAccount, PointBalance, PointLot, Program
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access
from tests.transactions.helpers import rule

POINTS_ROLES = ("administrator", "program_manager", "support_agent", "approver")
EXPORT_ROLES = ("administrator", "program_manager", "analyst")
NOW = dt.datetime(2024, 10, 12, 7, 20, 50, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def url(name, ref="anna-1"):
    return reverse(f"customers:customer_{name}", kwargs={"ref": ref})


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def multi(program):
    program = Program.objects.get(pk=program.pk)
    program.multi_accounts = True
    program.save()
    return program


@pytest.fixture
def anna(frozen, program):
    return enroll("anna-1", first_name="Anna", points=500)


def test_tab_per_role(client, cast, anna):
    responses = assert_page_access(client, cast, url("loyalty_points"), allowed=STAFF_ROLES)
    html = responses["administrator"].content.decode()
    for column in ("Created on", "Points", "Reason", "Expires on", "Active on", "Session"):
        assert f"<th>{column}</th>" in html or f'<th class="num">{column}</th>' in html
    assert "<th>Ledger</th>" not in html  # only with All ledgers
    assert 'data-testid="ledger-active">500<' in html


def test_action_pages_per_role(client, cast, anna, multi):
    for name in ("ledger_add", "ledger_deduct", "subledger_create"):
        assert_page_access(client, cast, url(name), allowed=POINTS_ROLES)
    assert_page_access(client, cast, url("ledger_export"), allowed=EXPORT_ROLES)


def test_buttons_follow_permissions(client, cast, anna, multi):
    client.force_login(cast["analyst"])
    html = client.get(url("loyalty_points")).content.decode()
    assert "ledger-add" not in html and "ledger-export" in html
    client.force_login(cast["support_agent"])
    html = client.get(url("loyalty_points")).content.decode()
    assert "ledger-add" in html and "ledger-subledger" in html and "ledger-export" not in html


def test_add_points_with_relative_start_and_expiration(admin_client, anna):
    response = admin_client.post(
        url("ledger_add"),
        {
            "ledger": "points",
            "points": 40,
            "reason": "goodwill",
            "reward_start": "relative",
            "start_amount": 5,
            "start_unit": "days",
            "start_snap": "start_of_day",
            "reward_expiration": "relative",
            "expiration_amount": 1,
            "expiration_unit": "months",
            "expiration_snap": "last_day_of_month",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    event = Event.objects.get(action="point_add", source="platform")
    assert event.reason == "goodwill" and event.admin_user.username == "administrator"
    lot = PointLot.objects.get(event=event)
    assert lot.activates_at == dt.datetime(2024, 10, 17, 0, 0, tzinfo=dt.UTC)
    # A relative expiration counts from the reward start: 17 Oct + 1 month, end of November.
    assert lot.expires_at == dt.datetime(2024, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert ChangeLogEntry.objects.filter(action="point_add", event=event).exists()
    html = admin_client.get(url("loyalty_points")).content.decode()
    assert 'data-testid="ledger-pending">40<' in html
    assert "manual" in html and "2024-11-30 23:59:59" in html and "2024-10-17 00:00:00" in html


def test_add_points_unlimited_and_absolute(admin_client, anna):
    data = {"ledger": "points", "points": 3, "reason": "r", "reward_start": "absolute"}
    data |= {"start_at": "2024-10-20T10:00", "reward_expiration": "unlimited"}
    assert admin_client.post(url("ledger_add"), data).status_code == 302
    lot = PointLot.objects.get(event__source="platform")
    assert lot.activates_at == dt.datetime(2024, 10, 20, 10, 0, tzinfo=dt.UTC) and lot.expires_at is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": ""}, "reason", "This field is required"),
        ({"reason": "   "}, "reason", "required"),
        ({"points": 0}, "points", "greater than or equal to 1"),
        ({"reward_start": "relative"}, "start_amount", "how many units"),
        (
            {"reward_start": "relative", "start_amount": 1000, "start_unit": "months"},
            "reward_start",
            "120 months",
        ),
        (
            {"reward_expiration": "absolute", "expiration_at": "2020-01-01T00:00"},
            "reward_expiration",
            "future",
        ),
        ({"reward_expiration": "absolute"}, "expiration_at", "Enter the date"),
    ],
)
def test_add_points_bad_input_changes_nothing(admin_client, anna, data, field, message):
    form = {
        "ledger": "points",
        "points": 5,
        "reason": "r",
        "reward_start": "default",
        "reward_expiration": "default",
    }
    response = admin_client.post(url("ledger_add"), {**form, **data})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in str(errors[field]), errors
    assert not Event.objects.filter(source="platform").exists()


def test_deduct_points(admin_client, anna):
    response = admin_client.post(url("ledger_deduct"), {"ledger": "points", "points": 120, "reason": "fraud"})
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.spendable == 380
    html = admin_client.get(url("loyalty_points")).content.decode()
    assert "-120" in html and "fraud" in html


def test_deduct_more_than_active_is_a_form_error(admin_client, anna):
    response = admin_client.post(url("ledger_deduct"), {"ledger": "points", "points": 501, "reason": "x"})
    assert response.status_code == 200
    assert "only 500 are spendable" in str(response.context["form"].errors)
    anna.refresh_from_db()
    assert anna.spendable == 500


def test_create_subledger_then_all_ledgers(admin_client, anna, multi):
    response = admin_client.post(
        url("subledger_create"),
        {
            "account": "points",
            "subledger": "store-12",
            "points": 70,
            "reason": "opening",
            "reward_start": "immediate",
            "reward_expiration": "default",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sub = PointAccount.objects.get(code="store-12", owner=anna)
    assert PointBalance.objects.get(account=sub).spendable == 70
    again = admin_client.post(
        url("subledger_create"),
        {
            "account": "points",
            "subledger": "store-12",
            "points": 1,
            "reason": "x",
            "reward_start": "default",
            "reward_expiration": "default",
        },
    )
    assert again.status_code == 200 and "already has a subledger" in again.content.decode()
    html = admin_client.get(url("loyalty_points") + "?ledger=points/store-12").content.decode()
    assert 'data-testid="ledger-active">70<' in html and "<th>Ledger</th>" not in html
    html = admin_client.get(url("loyalty_points") + "?ledger=all").content.decode()
    assert 'data-testid="ledger-active">570<' in html and "<th>Ledger</th>" in html
    assert "points/store-12" in html
    # Deduct from the subledger
    response = admin_client.post(
        url("ledger_deduct"), {"ledger": "points/store-12", "points": 20, "reason": "x"}
    )
    assert response.status_code == 302
    assert PointBalance.objects.get(account=sub).spendable == 50


def test_create_subledger_needs_multi_accounts(client, cast, anna):
    client.force_login(cast["administrator"])
    assert client.get(url("subledger_create")).status_code == 404
    assert "ledger-subledger" not in client.get(url("loyalty_points")).content.decode()


def test_create_subledger_bad_id(admin_client, anna, multi):
    response = admin_client.post(
        url("subledger_create"),
        {
            "account": "points",
            "subledger": "bad id!",
            "points": 1,
            "reason": "x",
            "reward_start": "default",
            "reward_expiration": "default",
        },
    )
    assert response.status_code == 200 and "subledger" in response.context["form"].errors
    assert not PointAccount.objects.filter(owner__isnull=False).exists()


def test_session_column_shows_the_transaction(admin_client, anna):
    rule()
    register_event(
        environment="live", customer="anna-1", action="checkout", data={"transaction_id": "T-77", "total": 30}
    )
    html = admin_client.get(url("loyalty_points")).content.decode()
    assert "T-77" in html


def test_export_transaction_log(client, cast, anna, frozen):
    frozen.move_to(NOW + dt.timedelta(days=2))
    register_event(
        environment="live", customer="anna-1", action="point_sub", data={"points": 5, "reason": "=cmd"}
    )
    client.force_login(cast["analyst"])
    response = client.get(
        url("ledger_export"), {"after": "2024-10-01", "integration_id": "anna-1", "date_format": "ymd"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["customerprofileid", "customersessionid", "rulesetid", "rulename"]
    assert rows[0][-1] == "transactionUUID" and len(rows[0]) == 17
    header = rows[0]
    first, second = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert (
        first["type"] == "addition" and first["amount"] == "500" and first["created"] == "2024-10-12 07:20:50"
    )
    assert first["startdate"] == "immediate" and first["expirydate"] == "unlimited"
    assert second["type"] == "subtraction" and second["amount"] == "-5" and second["name"] == "'=cmd"
    # before / after bound the rows (UTC days)
    response = client.get(
        url("ledger_export"),
        {"after": "2024-10-01", "before": "2024-10-13", "integration_id": "anna-1", "date_format": "iso8601"},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2 and rows[1][11] == "2024-10-12T07:20:50Z"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "2024-10-01", "integration_id": "someone-else", "date_format": "ymd"}, "integration_id"),
        (
            {"after": "2024-10-05", "before": "2024-10-01", "integration_id": "anna-1", "date_format": "ymd"},
            "before",
        ),
        ({"after": "not a date", "integration_id": "anna-1", "date_format": "ymd"}, "after"),
        ({"after": "2024-10-01", "integration_id": "anna-1", "date_format": "klingon"}, "date_format"),
    ],
)
def test_export_bad_input_is_a_form_error(admin_client, anna, params, field):
    response = admin_client.get(url("ledger_export"), params)
    assert response.status_code == 200 and field in response.context["form"].errors


def test_export_transaction_log_dates_name_local_days(admin_client, anna, frozen):
    """A date names the whole local day (docs/dates-and-bounds.md): in New York, an entry at
    2024-10-12T03:30Z is 11 October 23:30 local, so "after 12 October" leaves it out and
    "before 12 October" keeps it; the file still writes the UTC timestamp."""
    program = Program.objects.get(pk=Program.current().pk)
    program.time_zone = "America/New_York"
    program.save()
    frozen.move_to(dt.datetime(2024, 10, 12, 3, 30, tzinfo=dt.UTC))
    register_event(environment="live", customer="anna-1", action="point_add", data={"points": 7})

    def exported(**bounds):
        response = admin_client.get(
            url("ledger_export"), {**bounds, "integration_id": "anna-1", "date_format": "iso8601"}
        )
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        entries = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        return [entry["created"] for entry in entries if entry["amount"] == "7"]

    assert exported(after="2024-10-12") == []
    assert exported(after="2024-10-11", before="2024-10-12") == ["2024-10-12T03:30:00Z"]
