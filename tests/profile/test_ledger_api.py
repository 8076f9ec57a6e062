"""Ledger API: balances per ledger, the transaction log, the CSV export; points through the Events API."""

import csv
import io

import pytest

from loyalty.models import Program
from tests.api.conftest import ApiClient  # noqa: F401  (fixtures come from tests/api/conftest.py)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, db):
    from loyalty.api.keys import create_api_key

    api_key, secret = create_api_key(name="shop", environment="live")
    return ApiClient(client, api_key, secret)


@pytest.fixture
def alice(api, program):
    program = Program.objects.get(pk=program.pk)
    program.multi_accounts = True
    program.save()
    assert api.post("/api/events", {"customer": "alice", "action": "opt_in"}).status_code == 200
    body = {
        "customer": "alice",
        "action": "point_add",
        "data": {"points": 30, "subledger": "store-1", "reward_expiration": "1 months@last_day_of_month"},
    }
    response = api.post("/api/events", body)
    assert response.status_code == 200, response.content
    api.post("/api/events", {"customer": "alice", "action": "point_add", "data": {"points": 12}})
    return "alice"


def test_ledgers(api, alice):
    body = api.get("/api/customers/alice/ledgers").json()
    by = {row["ledger"]: row for row in body["ledgers"]}
    assert by["points/store-1"]["activePoints"] == 30 and by["points/store-1"]["subledger"] == "store-1"
    assert by["points"]["activePoints"] == 12


def test_transactions_per_ledger_and_all(api, alice):
    main = api.get("/api/customers/alice/ledgers/transactions").json()["transactions"]
    assert [t["amount"] for t in main] == [12]
    assert main[0]["expiryDate"] == "unlimited" and main[0]["type"] == "addition"
    every = api.get("/api/customers/alice/ledgers/transactions?ledger=all&limit=1").json()
    assert len(every["transactions"]) == 1 and every["next"]
    rest = api.get(f"/api/customers/alice/ledgers/transactions?ledger=all&after={every['next']}").json()
    assert [t["ledger"] for t in rest["transactions"]] == ["points/store-1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("ledger=nope", "ledger"), ("limit=0", "limit"), ("after=zzz", "after")],
)
def test_transactions_bad_parameters(api, alice, query, field):
    response = api.get(f"/api/customers/alice/ledgers/transactions?{query}")
    assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_export_log(api, alice):
    response = api.get("/api/customers/alice/ledgers/export_log?rangeStart=2000-01-01&dateFormat=ymd")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "customerprofileid" and len(rows) == 3
    assert {row[7] for row in rows[1:]} == {"store-1", ""}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "rangeStart"),
        ("rangeStart=yesterday", "rangeStart"),
        ("rangeStart=2024-01-02&rangeEnd=2024-01-01", "rangeEnd"),
        ("rangeStart=2024-01-01&dateFormat=x", "dateFormat"),
        ("rangeStart=9999-12-31T23:59:59-12:00", "rangeStart"),
    ],
)
def test_export_bad_parameters(api, alice, query, field):
    response = api.get(f"/api/customers/alice/ledgers/export_log?{query}")
    assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_unknown_customer_is_404(api, alice):
    assert api.get("/api/customers/nobody/ledgers").status_code == 404


def test_bad_reward_start_through_the_events_api(api, alice):
    body = {"customer": "alice", "action": "point_add", "data": {"points": 1, "reward_start": "1000 months"}}
    response = api.post("/api/events", body)
    assert response.status_code == 400 and response.json()["error"]["field"] == "data.reward_start"
