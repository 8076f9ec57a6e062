"""The Entities API for rewards (`/api/entities/rewards/reward[/{id}]`): list, create (PUT),
read, update (POST), archive (DELETE, inactive and unclaimed only), with the console form's
validation (400 naming the attribute), the reference's `price` for the cost, and the change log."""

import pytest

from coupons.models import Reward
from loyalty.audit.models import ChangeLogEntry
from tests.factories import enroll, register

pytestmark = pytest.mark.django_db
BASE = "/api/entities/rewards/reward"


def test_create_read_update_list_and_archive(api, program):
    created = api.put(BASE, json={"name": "Tote bag", "price": 150, "stock": 10})
    assert created.status_code == 200, created.content
    entity = created.json()
    assert (entity["name"], entity["price"], entity["stock"], entity["active"]) == ("Tote bag", 150, 10, True)
    rid = entity["id"]
    assert api.get(f"{BASE}/{rid}").json() == entity
    updated = api.post(f"{BASE}/{rid}", json={"description": "Cotton", "points": 120})
    assert updated.status_code == 200, updated.content
    assert (updated.json()["description"], updated.json()["price"], updated.json()["stock"]) == (
        "Cotton",
        120,
        10,
    )
    assert [r["id"] for r in api.get(BASE).json()["data"]] == [rid]
    assert api.delete(f"{BASE}/{rid}").status_code == 409  # still active
    assert api.post(f"{BASE}/{rid}", json={"active": False}).json()["active"] is False
    assert api.delete(f"{BASE}/{rid}").json() == ["OK"]
    assert not Reward.objects.exists()
    actions = list(ChangeLogEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["reward_create", "reward_update", "reward_update", "reward_archive"]


def test_a_claimed_reward_is_never_archived(api, program):
    rid = api.put(BASE, json={"name": "Mug", "price": 0}).json()["id"]
    enroll()
    register("reward", data={"reward": rid})
    api.post(f"{BASE}/{rid}", json={"active": False})
    response = api.delete(f"{BASE}/{rid}")
    assert response.status_code == 409 and Reward.objects.filter(pk=rid).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": 10}, "name"),
        ({"name": "x", "price": -1}, "points"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "account": "nope"}, "account"),
        ({"name": "x", "type": "coupon"}, "pool"),
        ({"name": "x", "stock": "many"}, "stock"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_attributes_are_a_400_naming_them_and_create_nothing(api, program, body, field):
    response = api.put(BASE, json=body)
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert not Reward.objects.exists()


def test_unknown_ids_and_scopes(api, program, client):
    assert api.get(f"{BASE}/999").status_code == 404
    assert api.get(f"{BASE}/abc").status_code == 404
    assert api.get("/api/entities/foo/bar").status_code == 404
