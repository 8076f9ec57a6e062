"""Issue 13 §6 through the Events API: dates the arithmetic or the database cannot hold, and
values past their columns, are a 400 naming the attribute, with dry_run and inside bulk too."""

import pytest

from events.models import Event
from transactions.models import Transaction

from .conftest import error_of


def _enroll(api, customer="Dates-1"):
    response = api.post("/api/events", {"customer": customer, "action": "opt_in", "data": {}})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "data, field",
    [
        ({"points": 100, "expiration_date": "9999-12-31"}, "data.expiration_date"),
        ({"points": 100, "expiration_date": "9999-12-31T23:00:00-14:00"}, "data.expiration_date"),
        ({"points": 100, "activation_date": "0001-01-01T00:00:00+14:00"}, "data.activation_date"),
        ({"points": 100, "expiration_date": 10**12}, "data.expiration_date"),
        ({"points": 10**12 + 1}, "data.points"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_point_add_past_the_bounds_is_a_400_naming_the_attribute(api, data, field, dry_run):
    _enroll(api)
    before = Event.objects.count()
    path = "/api/events?dry_run=true" if dry_run else "/api/events"
    response = api.post(path, {"customer": "Dates-1", "action": "point_add", "data": data})
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == field
    assert Event.objects.count() == before


def test_effective_timestamp_past_the_bounds_is_a_400(api):
    _enroll(api)
    response = api.post(
        "/api/events",
        {"customer": "Dates-1", "action": "login", "data": {"effective_timestamp": 10**13}},
    )
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == "data.effective_timestamp"
    response = api.post(
        "/api/events",
        {
            "customer": "Dates-1",
            "action": "login",
            "data": {"effective_timestamp": "9999-12-31T23:59:59-14:00"},
        },
    )
    assert response.status_code == 400, response.content
    assert error_of(response)["field"] == "data.effective_timestamp"


def test_inside_bulk_each_refused_event_names_its_attribute(api):
    _enroll(api)
    response = api.post(
        "/api/events/bulk",
        {
            "events": [
                {
                    "customer": "Dates-1",
                    "action": "point_add",
                    "data": {"points": 5, "expiration_date": "9999-12-31"},
                },
                {
                    "customer": "Dates-1",
                    "action": "checkout",
                    "data": {"transaction_id": "T" * 200, "total": 5},
                },
                {
                    "customer": "Dates-1",
                    "action": "checkout",
                    "data": {"transaction_id": "T-1", "total": 999999999999.99},
                },
                {"customer": "Dates-1", "action": "point_add", "data": {"points": 5}},
            ]
        },
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [result.get("error", {}).get("field") for result in results] == [
        "data.expiration_date",
        "data.transaction_id",
        "data.total",
        None,
    ]
    assert not Transaction.objects.exists()
