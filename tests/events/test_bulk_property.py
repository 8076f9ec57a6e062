"""events.bulk (register_batch's batched path for opt_in / profile / point_add): random event
sequences registered in batches end in exactly the same database state (customers, events, lots,
balances, ledger entries, tiers) and the same refusals as registered one by one through
register_event; the batched path is really taken (few queries per chunk)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from events.batch import BatchItem, register_batch
from events.models import Event
from loyalty.models import LedgerEntry, PointLot
from tests import factories
from tests.events.test_batch import _isolated, batched, one_by_one

pytestmark = pytest.mark.django_db

IDS = ["A-1", "B-2", "C-3", "D-4"]
PROFILE = st.fixed_dictionaries(
    {},
    optional={
        "first_name": st.sampled_from(["Ann", "Bo", ""]),
        "last_name": st.sampled_from(["Smith", "X"]),
        "email": st.sampled_from(["ann@example.com", "not-an-email"]),  # the second is refused
        "gender": st.sampled_from(["female", "male", "robot"]),  # robot is refused
        "country": st.sampled_from(["DE", "hu"]),
        "city": st.just("Berlin"),
        "language": st.sampled_from(["en", "de"]),
        "phone": st.just("+3612345"),
        "member_no": st.sampled_from(["M1", "M2"]),  # required on opt-in when the fixture says so
        "nickname": st.just("x" * 300),  # too long: refused after other attributes were applied
    },
)
CUSTOMER = st.sampled_from([*IDS, "bad id!", "anon-x"])  # invalid / reserved IDs are refused
ITEM = st.one_of(
    st.builds(lambda c, d: BatchItem(c, "opt_in", d), CUSTOMER, PROFILE),
    st.builds(lambda c, d: BatchItem(c, "profile", d), CUSTOMER, PROFILE),
    st.builds(lambda c, p: BatchItem(c, "point_add", {"points": p}), CUSTOMER, st.integers(1, 900)),
    st.builds(
        lambda c, p: BatchItem(c, "point_add", {"points": p}), st.sampled_from(IDS), st.integers(1, 900)
    ),
    st.builds(lambda c: BatchItem(c, "point_add", {"points": -3}), st.sampled_from(IDS)),  # refused
    st.builds(lambda c: BatchItem(c, "point_add", {"points": 7, "reason": "bonus"}), st.sampled_from(IDS)),
    st.builds(
        lambda c, p: BatchItem(c, "point_spend", {"points": p}), st.sampled_from(IDS), st.integers(1, 600)
    ),
    st.builds(lambda c: BatchItem(c, "suspend"), st.sampled_from(IDS)),
    st.builds(lambda c: BatchItem(c, "opt_out"), st.sampled_from(IDS)),
    st.builds(
        lambda c: BatchItem(f"email:{c.lower()}@x.io", "point_add", {"points": 5}), st.sampled_from(IDS)
    ),
)


@pytest.fixture(params=["plain", "required_field", "tiers", "closed"])
def variant(request, program):
    if request.param == "closed":  # no anonymous registration: only opt_in creates a customer
        program.anonymous_registration = False
        program.save()
    factories.CustomFieldFactory(name="member_no", required_on_opt_in=request.param == "required_field")
    if request.param == "tiers":
        structure = factories.TierStructureFactory()
        factories.TierFactory(structure=structure, code="bronze", threshold=0)
        factories.TierFactory(structure=structure, code="silver", threshold=500)
    return request.param


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(ITEM, min_size=1, max_size=30), cuts=st.lists(st.integers(0, 30), max_size=3))
def test_batched_chunks_end_in_the_same_state_as_one_by_one(variant, items, cuts):
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        single = _isolated(lambda: one_by_one(items))
        batch = _isolated(lambda: batched(items, cuts))
    assert batch["codes"] == single["codes"]
    assert batch["state"] == single["state"]


def test_the_example_state_is_what_one_by_one_gives(program):
    """The generalised property's example with its values written out."""
    items = [
        BatchItem("A-1", "opt_in", {"first_name": "Ann", "email": "ann@example.com", "country": "hu"}),
        BatchItem("A-1", "point_add", {"points": 100}),
        BatchItem("B-2", "opt_in", {"email": "nope"}),  # refused: nothing of B-2 is stored
        BatchItem("B-2", "point_add", {"points": 5}),  # anonymous registration: creates B-2
        BatchItem("A-1", "profile", {"last_name": "Smith", "gender": "robot"}),  # refused
        BatchItem("A-1", "point_add", {"points": 20}),
    ]
    outcomes = register_batch(environment="live", items=items, reason="Import 1: a.csv")
    assert [o.ok for o in outcomes] == [True, True, False, True, False, True]
    assert outcomes[0].result.customer_created is True
    assert outcomes[3].result.customer_created is True
    assert outcomes[2].error.field == "data.email"
    assert outcomes[4].error.field == "data.gender"
    ann = Customer.objects.get(customer_id="A-1")
    assert (ann.first_name, ann.last_name, ann.country, ann.status) == ("Ann", "", "HU", "active")
    assert (ann.score, ann.spendable) == (120, 120)
    b2 = Customer.objects.get(customer_id="B-2")
    assert (b2.status, b2.email, b2.spendable) == ("inactive", "", 5)
    assert list(Event.objects.order_by("pk").values_list("action", "points", "reason")) == [
        ("opt_in", 0, "Import 1: a.csv"),
        ("point_add", 100, "Import 1: a.csv"),
        ("point_add", 5, "Import 1: a.csv"),
        ("point_add", 20, "Import 1: a.csv"),
    ]
    assert list(LedgerEntry.objects.order_by("pk").values_list("amount", "spendable_after")) == [
        (100, 100),
        (5, 5),
        (20, 120),
    ]
    assert PointLot.objects.filter(customer=ann, status="active").count() == 2


def test_a_chunk_of_batched_rows_costs_a_few_queries(program, django_assert_max_num_queries):
    """200 point_add rows for 100 existing customers: a handful of statements, not ~9 per row."""
    register_batch(environment="live", items=[BatchItem(f"C-{i}", "opt_in") for i in range(100)])
    items = [BatchItem(f"C-{i % 100}", "point_add", {"points": 1 + i}) for i in range(200)]
    with django_assert_max_num_queries(20):
        outcomes = register_batch(environment="live", items=items)
    assert all(o.ok for o in outcomes)
    assert Customer.objects.get(customer_id="C-7").spendable == 8 + 108


def test_one_by_one_matches_the_batched_single_item_path(program):
    """The check of the comparison itself: the two runs differ when the batched path is wrong."""
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        single = _isolated(lambda: one_by_one([BatchItem("A-1", "opt_in", {"first_name": "Ann"})]))
        other = _isolated(lambda: batched([BatchItem("A-1", "opt_in", {"first_name": "Bo"})], []))
    assert single["state"] != other["state"]


def test_a_new_customer_created_meanwhile_sends_the_run_one_by_one(program, monkeypatch):
    """A concurrent writer creating one of the run's new customers (the unique index refuses the
    run's insert): the run rolls back to its savepoint and its items go through register_event."""
    from events import bulk

    real = bulk._per_row_customers

    def racing(environment, run, found, tier_rows, program, now):
        Customer.objects.create(environment="live", customer_id="N-1", status="inactive")  # "meanwhile"
        return real(environment, run, found, tier_rows, program, now)

    monkeypatch.setattr(bulk, "_per_row_customers", racing)
    outcomes = register_batch(
        environment="live",
        items=[
            BatchItem("N-1", "opt_in", {"first_name": "Ann"}),
            BatchItem("N-1", "point_add", {"points": 3}),
        ],
    )
    assert [o.ok for o in outcomes] == [True, True]
    customer = Customer.objects.get(customer_id="N-1")
    assert (customer.first_name, customer.status, customer.spendable) == ("Ann", "active", 3)
    assert list(Event.objects.values_list("action", flat=True).order_by("pk")) == ["opt_in", "point_add"]
