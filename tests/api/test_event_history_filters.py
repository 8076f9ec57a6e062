"""The event-history endpoints filter with `events.filtersets.EventHistoryFilterSet`: action,
transaction_id and timestamp.gt|gte|lt|lte; a bad value is the envelope (400, 113400, field
named), never a 500; the schema documents every filter."""

import datetime as dt
import json

import pytest
import time_machine

from events.engine import register_event

from .conftest import error_of

JAN, MAR, JUN = (dt.datetime(2024, month, 1, tzinfo=dt.UTC) for month in (1, 3, 6))


def at(when, customer_id, action, **data):
    with time_machine.travel(when, tick=False):
        return register_event(environment="live", customer=customer_id, action=action, data=data)


@pytest.fixture
def history(db):
    at(JAN, "ann", "opt_in", email="ann@example.com")
    at(MAR, "ann", "checkout", transaction_id="T-1", total=100)
    at(JUN, "ann", "point_add", points=5)
    at(JUN, "bob", "opt_in", email="bob@example.com")


def actions(response):
    assert response.status_code == 200, response.content
    return [(e["customer"], e["action"]) for e in response.json()["data"]]


def test_action_and_transaction_id(api, history):
    assert actions(api.get("/api/customers/ann/events?action=opt_in")) == [("ann", "opt_in")]
    by_transaction = actions(api.get("/api/customers/ann/events?transaction_id=T-1"))
    assert by_transaction and all(action != "opt_in" for _, action in by_transaction)
    assert actions(api.get("/api/customers/-/events?action=opt_in")) == [("ann", "opt_in"), ("bob", "opt_in")]
    assert actions(api.get("/api/customers/ann/events?action=Opt_in")) == []  # exact, case-sensitive
    assert len(actions(api.get("/api/customers/ann/events?action="))) >= 3  # empty: no filter


@pytest.mark.parametrize(
    "query, expected",
    [
        ("timestamp.gt=2024-03-01T00:00:00Z", [("ann", "point_add"), ("bob", "opt_in")]),
        ("timestamp.gte=2024-06-01T00:00:00Z", [("ann", "point_add"), ("bob", "opt_in")]),
        ("timestamp.lt=2024-03-01T00:00:00Z", [("ann", "opt_in")]),
        ("timestamp.lte=2024-01-01T00:00:00%2B00:00", [("ann", "opt_in")]),
        (f"timestamp.gt={int(JAN.timestamp())}&timestamp.lt={int(JUN.timestamp())}", "checkout"),
        ("timestamp.gte=2024-06-01T00:00:00&action=point_add", [("ann", "point_add")]),  # naive: UTC
    ],
)
def test_timestamp_bounds(api, history, query, expected):
    found = actions(api.get(f"/api/customers/-/events?{query}"))
    if expected == "checkout":
        assert {customer for customer, _ in found} == {"ann"} and ("ann", "checkout") in found
        assert ("ann", "opt_in") not in found and ("ann", "point_add") not in found
    else:
        assert found == expected


def test_timestamp_filters_on_one_customer_keep_the_keyset_paging(api, history):
    first = api.get("/api/customers/ann/events?timestamp.gte=2024-03-01T00:00:00Z&limit=1").json()
    assert [e["action"] for e in first["data"]] == ["point_add"] and first["next"]
    rest = api.get(first["next"]).json()
    assert "opt_in" not in [e["action"] for e in rest["data"]] and rest["next"] is None


@pytest.mark.parametrize("path", ["/api/customers/ann/events", "/api/customers/-/events"])
@pytest.mark.parametrize(
    "name, value",
    [
        ("timestamp.gt", "yesterday"),
        ("timestamp.gte", "2024-13-45T00:00:00Z"),  # well-formed, impossible
        ("timestamp.lt", "999999999999"),  # Unix seconds past year 9999
        ("timestamp.lte", "0001-01-01T00:00:00%2B05:00"),  # before year 1 in UTC
        ("action", "point%00add"),
        ("transaction_id", "%00"),
    ],
)
def test_a_bad_value_is_the_envelope_naming_the_parameter(api, history, path, name, value):
    response = api.get(f"{path}?{name}={value}")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert (error["code"], error["type"], error["field"]) == (113400, "BadRequestException", name)


@pytest.mark.parametrize("cursor", [[0], ["x"], [2**70], [True]])
def test_a_forged_customer_cursor_is_a_400(api, history, cursor):
    from loyalty.api.paging import encode_cursor

    response = api.get(f"/api/customers/ann/events?after={encode_cursor(*cursor)}")
    assert response.status_code == 400 and error_of(response)["field"] == "after"


@pytest.mark.parametrize(
    "cursor",
    [
        ["2024-13-45T00:00:00", 1],
        ["nope", 1],
        ["0001-01-01T00:00:00+05:00", 1],
        ["2024-01-01T00:00:00Z", 2**70],
    ],
)
def test_a_forged_environment_cursor_is_a_400(api, history, cursor):
    from loyalty.api.paging import encode_cursor

    response = api.get(f"/api/customers/-/events?after={encode_cursor(*cursor)}")
    assert response.status_code == 400 and error_of(response)["field"] == "after"


def test_the_schema_documents_the_filters(client, db):
    document = json.loads(client.get("/api/schema/?format=json", HTTP_ACCEPT="application/json").content)
    wanted = {"action", "transaction_id", "timestamp.gt", "timestamp.gte", "timestamp.lt", "timestamp.lte"}
    for path in ("/api/customers/{id}/events", "/api/customers/-/events"):
        parameters = document["paths"][path]["get"]["parameters"]
        query = {p["name"]: p for p in parameters if p["in"] == "query"}
        assert wanted | {"limit", "after"} <= set(query), path
        assert all(
            query[name]["schema"] == {"type": "string"} and query[name]["description"] for name in wanted
        )
