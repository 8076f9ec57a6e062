"""events.sets: list membership events for many customers with set-based SQL store exactly what
register_event stores one customer at a time (rows, refusals with their codes and messages)."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from events.sets import register_event_set
from loyalty.errors import EngineError
from loyalty.models import CustomerTier, PointAccount, Tier, TierStructure
from segments.models import CustomerList, CustomerListMember

EVENT_FIELDS = (
    "environment",
    "action",
    "label",
    "points",
    "account_id",
    "expires_at",
    "transaction_id",
    "source",
    "admin_user_id",
    "workflow_id",
    "reason",
    "ip_address",
    "user_agent",
    "parent_id",
)
PEOPLE = ("a", "b", "c", "d")
NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def lists(program):
    program.segments = True
    program.save()
    # Two lists of one name: the refusals name the list, and must read the same.
    return CustomerList.objects.create(name="VIP"), CustomerList.objects.create(name="VIP")


@pytest.fixture
def people(lists, enroll_customer):
    for cid in PEOPLE:
        enroll_customer(cid)
    return PEOPLE


def one_by_one(action, refs, customer_list, **meta) -> list[tuple[int, EngineError]]:
    refused = []
    for position, ref in enumerate(refs):
        try:
            register_event(
                environment="live", customer=ref, action=action, data={"list": customer_list.pk}, **meta
            )
        except EngineError as error:
            refused.append((position, error))
    return refused


def as_set(action, refs, customer_list, **meta):
    return register_event_set(
        environment="live", action=action, customers=refs, data={"list": customer_list.pk}, **meta
    )


def stored(customer_list) -> list[tuple]:
    """Every stored event of the list and its member rows, in a comparable form."""
    events = Event.objects.filter(data__list=customer_list.pk).order_by("customer__customer_id", "id")
    rows = [
        (
            e.customer.customer_id,
            e.timestamp,
            e.effective_at,
            {**e.data, "list": "L"},
            *(getattr(e, f) for f in EVENT_FIELDS),
        )
        for e in events
    ]
    members = [
        (m.customer.customer_id, m.added_at, Event.objects.get(pk=m.event_id).customer_id == m.customer_id)
        for m in CustomerListMember.objects.filter(customer_list=customer_list).order_by(
            "customer__customer_id"
        )
    ]
    return rows + members


def refusals(refused) -> list[tuple]:
    return sorted((position, e.code, e.message, e.field) for position, e in refused)


@pytest.mark.parametrize("meta", [{}, {"source": "platform", "reason": "spring campaign"}])
def test_a_set_stores_what_register_event_stores_customer_by_customer(people, lists, admin_user, meta):
    single, batch = lists
    meta = {**meta, "admin_user": admin_user} if meta else meta
    refs = ["a", "b", "ghost", "b", "c", "not valid!", "ext:1"]
    before = activity(PEOPLE)
    with time_machine.travel(NOW, tick=False):
        register_event(environment="live", customer="c", action="customer_list_add", data={"list": single.pk})
        register_event(environment="live", customer="c", action="customer_list_add", data={"list": batch.pk})
        expected = one_by_one("customer_list_add", refs, single, **meta)
        outcome = as_set("customer_list_add", refs, batch, **meta)
    # The same refusals (code, message, field) at the same positions: the unknown and invalid IDs,
    # the repeated "b", "c" already on the list, the external ID field that does not exist.
    assert refusals(outcome.refused) == refusals(expected)
    assert sorted(p for p, _ in outcome.refused) == [2, 3, 4, 5, 6]
    assert sorted(outcome.applied) == [0, 1]
    assert stored(batch) == stored(single)
    # A list membership is not customer activity (ActionSpec.activity): neither path moved the
    # customers' last_activity_at / updated_at.
    assert activity(PEOPLE) == before
    assert Customer.objects.get(customer_id="a").last_activity_at != NOW


def test_remove_as_a_set_matches_one_by_one(people, lists):
    single, batch = lists
    with time_machine.travel(NOW, tick=False):
        for customer_list in lists:
            for cid in ("a", "b"):
                register_event(
                    environment="live",
                    customer=cid,
                    action="customer_list_add",
                    data={"list": customer_list.pk},
                )
        expected = one_by_one("customer_list_remove", ["a", "c", "b"], single)
        outcome = as_set("customer_list_remove", ["a", "c", "b"], batch)
    assert refusals(outcome.refused) == refusals(expected) and [p for p, _ in expected] == [1]
    assert stored(batch) == stored(single)
    assert not CustomerListMember.objects.exists()


def test_a_list_that_takes_no_members_refuses_every_customer_and_stores_nothing(people, lists):
    single, batch = lists
    CustomerList.objects.filter(pk__in=[single.pk, batch.pk]).update(status="inactive")
    expected = one_by_one("customer_list_add", ["a", "b"], single)
    outcome = as_set("customer_list_add", ["a", "b"], batch)
    assert refusals(outcome.refused) == refusals(expected) and len(expected) == 2
    assert not outcome.applied and not Event.objects.filter(action="customer_list_add").exists()


def test_dynamic_point_expiration_does_not_hold_a_list_set_back(people, lists):
    """A list membership is not activity: it does not push dynamic expiration dates, so such an
    account no longer sends the set through register_event; both paths store the same rows."""
    single, batch = lists
    PointAccount.objects.filter(is_default=True).update(expiration_rule="dynamic")
    from loyalty.ledger.accounts import clear_account_cache

    clear_account_cache()
    with time_machine.travel(NOW, tick=False):
        one_by_one("customer_list_add", ["a", "b"], single)
        outcome = as_set("customer_list_add", ["a", "b"], batch)
    assert outcome.one_by_one == 0 and stored(batch) == stored(single)


def test_a_customer_whose_tier_ended_goes_through_register_event(people, lists, program):
    _, batch = lists
    program.tiers = True
    program.save()
    structure = TierStructure.objects.create(code="t", name="T")
    tier = Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=0)
    a = Customer.objects.get(customer_id="a")
    CustomerTier.objects.create(
        customer=a, structure=structure, tier=tier, since=NOW - dt.timedelta(days=30), expires_at=NOW
    )
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        outcome = as_set("customer_list_add", ["a", "b"], batch)
    assert outcome.one_by_one == 1 and sorted(outcome.applied) == [0, 1]
    assert set(CustomerListMember.objects.values_list("customer__customer_id", flat=True)) == {"a", "b"}


def test_an_action_without_a_set_form_is_a_programming_error(people):
    with pytest.raises(ValueError, match="no set-based form"):
        register_event_set(environment="live", action="point_add", customers=["a"], data={"points": 1})


# --- the set path ends where the one-by-one path ends: random request sequences (Hypothesis) -------

REFS = ("a", "b", "c", "d", "gone", "held", "ghost", "not valid!", "ext:1", "member_no:M-a", "member_no:M-x")


@pytest.fixture
def crowd(people, lists):
    """Besides a-d: an opted-out customer (anonymized), a suspended one, an external ID of "a"."""
    from tests import factories

    factories.CustomFieldFactory(name="member_no", label="Member number", external_id=True)
    factories.register("profile", "a", {"member_no": "M-a"})
    for cid in ("gone", "held"):
        factories.enroll(cid)
    factories.register("opt_out", "gone")
    factories.register("suspend", "held")
    return lists


def activity(customer_ids) -> dict[str, tuple]:
    rows = Customer.objects.filter(customer_id__in=customer_ids, anonymized_at__isnull=True)
    return {c.customer_id: (c.last_activity_at, c.updated_at) for c in rows}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["customer_list_add", "customer_list_remove"]),
            st.lists(st.sampled_from(REFS), min_size=1, max_size=7),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_random_requests_end_in_the_same_state_either_way(crowd, steps):
    """Each request goes to one list customer by customer (register_event) and, at a later moment,
    to the other list as a set: the same refusals at the same positions, the same stored events
    and members, and neither moves any customer's activity (list memberships are not activity)."""
    single, batch = crowd
    with transaction.atomic():
        for index, (action, refs) in enumerate(steps):
            one_moment = NOW + dt.timedelta(hours=2 * index)
            set_moment = one_moment + dt.timedelta(hours=1)
            with time_machine.travel(one_moment, tick=False):
                expected = one_by_one(action, refs, single)
            moved_one = {
                cid for cid, times in activity(PEOPLE + ("held",)).items() if times == (one_moment,) * 2
            }
            with time_machine.travel(set_moment, tick=False):
                outcome = as_set(action, refs, batch)
            moved_set = {
                cid for cid, times in activity(PEOPLE + ("held",)).items() if times == (set_moment,) * 2
            }
            assert refusals(outcome.refused) == refusals(expected)
            refused = {position for position, _ in expected}
            assert sorted(outcome.applied) == [p for p in range(len(refs)) if p not in refused]
            assert moved_set == moved_one == set()
            assert _same_up_to_the_moment(stored(batch), stored(single))
        transaction.set_rollback(True)


def _same_up_to_the_moment(batch_rows, single_rows) -> bool:
    """Rows equal, except that each set's time is an hour after the one-by-one request's."""
    hour = dt.timedelta(hours=1)

    def normal(rows):
        out = []
        for row in rows:
            if len(row) > 3:  # an event: (customer, timestamp, effective_at, data, ...)
                out.append((row[0], *row[3:]))
            else:  # a member: (customer, added_at, event is the customer's)
                out.append((row[0], row[2]))
        return out

    times_match = all(
        (b[1] - hour == s[1]) and (len(b) <= 3 or b[2] - hour == s[2])
        for b, s in zip(batch_rows, single_rows, strict=True)
    )
    return times_match and normal(batch_rows) == normal(single_rows)


# --- what else reacts to an event reacts to each event of a set --------------------------------------


def test_a_workflow_on_the_action_sends_each_customer_through_register_event(people, lists, program):
    from tests.workflows.conftest import chain, make_workflow, on_event

    single, batch = lists
    program.workflows = True
    program.save()
    make_workflow(
        chain(
            on_event("customer_list_add"),
            {"id": "stop", "type": "interrupt", "config": {"code": 12345, "message": "No lists today."}},
            branch="modifier",
        )
    )
    expected = one_by_one("customer_list_add", ["a", "b"], single)
    outcome = as_set("customer_list_add", ["a", "b"], batch)
    # The modifier branch refuses every event, in the set too: nothing is stored.
    assert [e.code for _, e in expected] == [12345, 12345]
    assert refusals(outcome.refused) == refusals(expected) and outcome.one_by_one == 2
    assert not CustomerListMember.objects.exists() and not Event.objects.filter(action="customer_list_add")


def test_a_webhook_subscription_gets_every_event_of_a_set(
    people, lists, program, django_capture_on_commit_callbacks
):
    from tests.webhooks.conftest import make_site, subscribe
    from webhooks.models import Delivery

    program.webhooks = True
    program.save()
    site = make_site("https://crm.example.com/hooks")
    subscribe(site, actions=["customer_list_add"])
    single, batch = lists
    with django_capture_on_commit_callbacks() as callbacks:
        one_by_one("customer_list_add", ["a", "b"], single)
        outcome = as_set("customer_list_add", ["a", "b", "c"], batch)
    for callback in callbacks:
        callback()  # the dispatch on commit (sending itself is the worker's)
    wanted = set(Event.objects.filter(action="customer_list_add").values_list("pk", flat=True))
    assert len(wanted) == 5 and set(outcome.applied.values()) < wanted
    assert set(Delivery.objects.values_list("event_id", flat=True)) == wanted


def test_a_list_membership_is_not_customer_activity(people, lists):
    """register_event of customer_list_add / _remove (ActionSpec.activity False) leaves the
    customer's last_activity_at and updated_at, and pushes no dynamic expiration date; an
    activity event (point_add) moves all three."""
    single, _ = lists
    PointAccount.objects.filter(is_default=True).update(
        expiration_rule="dynamic", expiration_period=3, expiration_unit="months"
    )
    from loyalty.ledger.accounts import clear_account_cache
    from loyalty.models import PointLot

    clear_account_cache()
    with time_machine.travel(NOW, tick=False):
        register_event(environment="live", customer="a", action="point_add", data={"points": 50})
    expires = PointLot.objects.get(customer__customer_id="a").expires_at
    later = NOW + dt.timedelta(days=30)
    with time_machine.travel(later, tick=False):
        register_event(environment="live", customer="a", action="customer_list_add", data={"list": single.pk})
        register_event(
            environment="live", customer="a", action="customer_list_remove", data={"list": single.pk}
        )
    assert activity(["a"]) == {"a": (NOW, NOW)}
    assert PointLot.objects.get(customer__customer_id="a").expires_at == expires
    assert Event.objects.filter(customer__customer_id="a", action__startswith="customer_list").count() == 2
    with time_machine.travel(later, tick=False):
        register_event(environment="live", customer="a", action="point_add", data={"points": 1})
    assert activity(["a"]) == {"a": (later, later)}
    assert PointLot.objects.filter(customer__customer_id="a", expires_at__gt=expires).count() == 2
