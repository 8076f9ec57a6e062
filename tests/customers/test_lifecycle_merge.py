"""merge: the event is registered on the target; history, points and (full) custom fields move."""

import pytest

from customers.choices import CustomerStatus as S
from customers.models import Customer, CustomField, ExternalId, Label
from events.models import Event
from loyalty.errors import CustomerNotFound, StatusForbids, ValidationError
from loyalty.models import PointBalance, PointLot
from tests.events.helpers import find_everywhere
from tests.factories import console, enroll, live, refused, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(program):
    CustomField.objects.create(name="color", label="Color")
    CustomField.objects.create(name="size", label="Size")
    CustomField.objects.create(name="barcode", label="Barcode", external_id=True)
    target = enroll("Main-1", first_name="Anna", color="red")
    source = enroll(
        "Dup-1",
        first_name="Anna D",
        email="dup@example.com",
        color="blue",
        size="M",
        barcode="BC-9",
        labels=["app-user"],
    )
    register("login", "Dup-1")
    return target, source


def test_a_partial_merge_moves_history_and_copies_no_custom_fields(pair):
    target, source = pair
    result = register("merge", "Main-1", {"source": "Dup-1"})
    merged = live("Main-1")
    assert merged.custom == {"color": "red"}
    assert merged.first_name == "Anna"
    assert list(Event.objects.filter(customer=merged).values_list("action", flat=True).order_by("id")) == [
        "opt_in",
        "opt_in",
        "login",
        "daily_login",  # the first login of the day (issue 15)
        "merge",
    ]
    assert result.event.customer_id == merged.pk and result.event.data["source"] == "Dup-1"
    assert result.extra["merge"]["events_moved"] == 3
    assert not merged.labels.exists()


def test_the_source_ends_anonymized_merged_and_its_id_free(pair):
    target, source = pair
    register("merge", "Main-1", {"source": "Dup-1"})
    old = Customer.objects.get(pk=source.pk)
    assert old.status == S.OPTED_OUT and old.merged_into_id == target.pk and old.anonymized_at
    assert old.customer_id.startswith("anon-") and old.email == "" and old.custom == {}
    assert not Event.objects.filter(customer=old).exists()
    assert not ExternalId.objects.filter(value="BC-9").exists()
    with pytest.raises(Customer.DoesNotExist):
        live("Dup-1")
    assert enroll("Dup-1").pk != source.pk  # the ID is free again


def test_a_full_merge_copies_custom_fields_the_target_lacks(pair):
    register("merge", "Main-1", {"source": "Dup-1", "mode": "full"})
    merged = live("Main-1")
    assert merged.custom == {"color": "red", "size": "M", "barcode": "BC-9"}
    assert ExternalId.objects.get(value="BC-9").customer == merged
    assert register("profile", "barcode:BC-9", {"last_name": "S"}).customer.pk == merged.pk
    assert list(merged.labels.values_list("name", flat=True)) == ["app-user"]
    assert Label.objects.filter(name="app-user").exists()


def test_merge_by_external_id(pair):
    register("merge", "Main-1", {"source": "barcode:BC-9"})
    assert Customer.objects.filter(anonymized_at__isnull=True).count() == 1


def test_points_move_to_the_target(pair):
    register("point_add", "Main-1", {"points": 100})
    register("point_add", "Dup-1", {"points": 50})
    register("point_spend", "Dup-1", {"points": 20})
    register("merge", "Main-1", {"source": "Dup-1"})
    merged = live("Main-1")
    assert merged.spendable == 130
    assert merged.score == 150 and merged.spent == 20
    balance = PointBalance.objects.get(customer=merged)
    assert (balance.spendable, balance.earned, balance.spent) == (130, 150, 20)
    assert sum(lot.remaining for lot in PointLot.objects.filter(customer=merged, status="active")) == 130
    old = Customer.objects.get(pk=pair[1].pk)
    assert (old.spendable, old.score) == (0, 0)
    register("point_spend", "Main-1", {"points": 130})
    assert live("Main-1").spendable == 0


@pytest.mark.parametrize("who", ["Main-1", "Dup-1"])
def test_suspended_customers_cannot_be_merged(pair, who):
    register("suspend", who)
    field = "customer" if who == "Main-1" else "data.source"
    refused(StatusForbids, field, lambda: register("merge", "Main-1", {"source": "Dup-1"}))


def test_banned_customers_cannot_be_merged(pair):
    console("ban", "Dup-1")
    refused(StatusForbids, "data.source", lambda: register("merge", "Main-1", {"source": "Dup-1"}))


def test_merge_refusals(pair):
    refused(CustomerNotFound, "data.source", lambda: register("merge", "Main-1", {"source": "Nobody-1"}))
    refused(ValidationError, "data.source", lambda: register("merge", "Main-1", {"source": "Main-1"}))
    refused(
        ValidationError, "data.mode", lambda: register("merge", "Main-1", {"source": "Dup-1", "mode": "half"})
    )
    refused(CustomerNotFound, "customer", lambda: register("merge", "Nobody-2", {"source": "Dup-1"}))


def test_customers_referred_by_the_source_now_name_the_target(pair):
    enroll("Kid-1", referrer="Dup-1")
    register("merge", "Main-1", {"source": "Dup-1"})
    assert live("Kid-1").referrer_id == pair[0].pk


def test_the_merged_person_can_opt_out_completely(pair):
    register("merge", "Main-1", {"source": "Dup-1", "mode": "full"})
    register("opt_out", "Main-1")
    for value in ("Main-1", "Dup-1", "dup@example.com", "BC-9", "Anna D"):
        assert find_everywhere(value) == [], value
