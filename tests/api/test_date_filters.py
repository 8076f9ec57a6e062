"""Every date filter follows the rule "a date names the whole day in the program's time zone"
(loyalty.clock.date_bound): `lte D` includes D to its last microsecond, `gt D` starts after D,
`gte` / `lt` compare with D's start, and a date-time compares as given. The paths: the API's
`timestamp.*` (customer and environment history) and `updated_at.*` (customer search), the
console's change-log range and segment / filter-bar conditions on date-time attributes."""

import datetime as dt

import pytest
import time_machine

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.audit.filtersets import ChangeLogFilterSet
from loyalty.audit.models import ChangeLogEntry
from loyalty.models import Program
from segments.conditions import Condition, compile_conditions, make_context

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NY = "America/New_York"


def set_zone(name):
    program = Program.objects.get(pk=Program.current().pk)
    program.time_zone = name
    program.save()


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


# 10 March 2025 in New York: 04:00Z .. 11 March 03:59:59.999999Z (EDT from 07:00Z that day).
# 9 March 2025 is the spring-forward day: 05:00Z .. 04:00Z next day (23 hours).
MOMENTS = {
    "9 Mar 00:30 NY": utc(2025, 3, 9, 5, 30),
    "9 Mar 23:30 NY": utc(2025, 3, 10, 3, 30),
    "10 Mar 00:00:01 NY": utc(2025, 3, 10, 4, 0, 1),
    "10 Mar 23:59:59.5 NY": utc(2025, 3, 11, 3, 59, 59, 500000),
    "11 Mar 00:00:30 NY": utc(2025, 3, 11, 4, 0, 30),
}

# (filter, value) -> the moments that pass. The same table for every path.
TABLE = [
    ("lte", "2025-03-10", {"9 Mar 00:30 NY", "9 Mar 23:30 NY", "10 Mar 00:00:01 NY", "10 Mar 23:59:59.5 NY"}),
    ("lt", "2025-03-10", {"9 Mar 00:30 NY", "9 Mar 23:30 NY"}),
    ("gte", "2025-03-10", {"10 Mar 00:00:01 NY", "10 Mar 23:59:59.5 NY", "11 Mar 00:00:30 NY"}),
    ("gt", "2025-03-10", {"11 Mar 00:00:30 NY"}),
    ("lte", "2025-03-09", {"9 Mar 00:30 NY", "9 Mar 23:30 NY"}),  # the 23-hour day
    ("gt", "2025-03-09", {"10 Mar 00:00:01 NY", "10 Mar 23:59:59.5 NY", "11 Mar 00:00:30 NY"}),
    ("lte", "2025-03-10T00:00:01-04:00", {"9 Mar 00:30 NY", "9 Mar 23:30 NY", "10 Mar 00:00:01 NY"}),
]


@pytest.fixture
def timeline(program):
    """One customer per moment, opted in (event, change-log entry, created_at) at that moment."""
    set_zone(NY)
    for index, (label, moment) in enumerate(MOMENTS.items()):
        with time_machine.travel(moment, tick=False):
            register_event(environment="live", customer=f"c{index}", action="opt_in")
            customer = Customer.objects.get(customer_id=f"c{index}")
            ChangeLogEntry.objects.create(
                customer=customer, action="opt_in", object_repr=label, created_at=moment
            )
    return {f"c{index}": label for index, label in enumerate(MOMENTS)}


def labels(timeline, customer_ids):
    return {timeline[c] for c in customer_ids}


@pytest.mark.parametrize(("lookup", "value", "expected"), TABLE)
def test_api_environment_history(api, timeline, lookup, value, expected):
    value = value.replace("+", "%2B")
    body = api.get(f"/api/customers/-/events?timestamp.{lookup}={value}&limit=100").json()
    assert labels(timeline, [e["customer"] for e in body["data"]]) == expected


@pytest.mark.parametrize(("lookup", "value", "expected"), TABLE)
def test_api_customer_history(api, timeline, lookup, value, expected):
    passed = set()
    for customer_id, label in timeline.items():
        body = api.get(f"/api/customers/{customer_id}/events?timestamp.{lookup}={value}").json()
        if body["data"]:
            passed.add(label)
    assert passed == expected


@pytest.mark.parametrize(("lookup", "value", "expected"), TABLE)
def test_api_customer_search_updated_at(api, timeline, lookup, value, expected):
    for customer_id in timeline:  # updated_at is the opt-in moment
        customer = Customer.objects.get(customer_id=customer_id)
        Customer.objects.filter(pk=customer.pk).update(updated_at=MOMENTS[timeline[customer_id]])
    body = api.get(f"/api/customers?updated_at.{lookup}={value}&limit=100").json()
    assert labels(timeline, [c.get("id", c.get("_id")) for c in body["customers"]]) == expected


@pytest.mark.parametrize(("lookup", "value", "expected"), [row for row in TABLE if "T" not in row[1]])
def test_console_change_log_range(timeline, lookup, value, expected):
    if lookup not in ("gte", "lte"):
        pytest.skip("the change log offers From (gte) and Until (lte)")
    name = "since" if lookup == "gte" else "until"
    rows = ChangeLogFilterSet({name: value}, queryset=ChangeLogEntry.objects.all()).qs
    assert {entry.object_repr for entry in rows} == expected


@pytest.mark.parametrize(("lookup", "value", "expected"), TABLE)
def test_segment_and_filter_bar_conditions(timeline, lookup, value, expected):
    operator = {"lte": "le", "gte": "ge"}.get(lookup, lookup)  # the condition language's names
    q = compile_conditions([Condition("created_at", operator, value)], ctx=make_context())
    assert labels(timeline, Customer.objects.filter(q).values_list("customer_id", flat=True)) == expected


def test_a_condition_equal_to_a_date_is_that_whole_local_day(timeline):
    q = compile_conditions([Condition("created_at", "eq", "2025-03-10")], ctx=make_context())
    found = labels(timeline, Customer.objects.filter(q).values_list("customer_id", flat=True))
    assert found == {"10 Mar 00:00:01 NY", "10 Mar 23:59:59.5 NY"}
    q = compile_conditions([Condition("created_at", "in", "2025-03-09,2025-03-11")], ctx=make_context())
    found = labels(timeline, Customer.objects.filter(q).values_list("customer_id", flat=True))
    assert found == {"9 Mar 00:30 NY", "9 Mar 23:30 NY", "11 Mar 00:00:30 NY"}


def test_the_console_list_filter_bar_uses_the_rule(admin_client, timeline):
    page = admin_client.get("/customers/?f=created_at:le:2025-03-10&columns=customer_id").content.decode()
    shown = {label for customer_id, label in timeline.items() if f">{customer_id}<" in page}
    assert shown == TABLE[0][2]


def test_a_utc_program_ends_the_day_at_utc_midnight(api, program):
    for moment in (utc(2025, 3, 10, 23, 59, 59), utc(2025, 3, 11, 0, 0, 1)):
        with time_machine.travel(moment, tick=False):
            register_event(environment="live", customer=f"u{moment.day}", action="opt_in")
    body = api.get("/api/customers/-/events?timestamp.lte=2025-03-10").json()
    assert [e["customer"] for e in body["data"]] == ["u10"]
    assert Event.objects.count() == 2


def test_a_date_at_the_calendars_end_is_a_400(api, program):
    response = api.get("/api/customers/-/events?timestamp.lte=9999-12-31")
    assert response.status_code == 400


# The history's `date` filter (the reference's `date`, `date.gt` ...): the same table on the
# event's date, and `date=D` is the whole local day.
@pytest.mark.parametrize(("lookup", "value", "expected"), [row for row in TABLE if "T" not in row[1]])
def test_history_date_filter(api, timeline, lookup, value, expected):
    body = api.get(f"/api/customers/-/events?date.{lookup}={value}&limit=100").json()
    assert labels(timeline, [e["customer"] for e in body["data"]]) == expected


def test_history_date_names_one_local_day(api, timeline):
    body = api.get("/api/customers/-/events?date=2025-03-10&limit=100").json()
    assert labels(timeline, [e["customer"] for e in body["data"]]) == {
        "10 Mar 00:00:01 NY",
        "10 Mar 23:59:59.5 NY",
    }
    body = api.get("/api/customers/c1/events?date=2025-03-09").json()
    assert [e["action"] for e in body["data"]] == ["opt_in"]
    for bad in ("2025-03-10T00:00:00", "yesterday", "2025-02-30", "9999-12-31"):
        response = api.get(f"/api/customers/-/events?date={bad}")
        assert response.status_code == 400 and response.json()["error"]["field"] == "date", bad


def test_history_references_name_the_reward_and_the_achievement(api, program):
    from coupons.models import Reward
    from loyalty.ledger.accounts import default_account

    reward = Reward.objects.create(name="Tote bag", points=10, account=default_account())
    register_event(environment="live", customer="r1", action="opt_in")
    register_event(environment="live", customer="r1", action="point_add", data={"points": 50})
    register_event(environment="live", customer="r1", action="reward", data={"reward": str(reward.pk)})
    plain = api.get("/api/customers/r1/events").json()["data"]
    assert all("references" not in e for e in plain)
    body = api.get("/api/customers/r1/events?references=true").json()["data"]
    by_action = {e["action"]: e["references"] for e in body}
    assert by_action["reward"] == [{"type": "reward", "id": str(reward.pk), "name": "Tote bag"}]
    assert by_action["point_add"] == [] and by_action["opt_in"] == []
    everyone = api.get("/api/customers/-/events?references=1").json()["data"]
    assert any(e["references"] for e in everyone)
    assert api.get("/api/customers/r1/events?references=maybe").status_code == 400
