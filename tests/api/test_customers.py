"""Customer API: the 001 object, data extensions, external IDs, search, histories, merge, opt-in,
entities, and environment isolation."""

import datetime as dt

import time_machine

from customers.models import Customer, CustomField
from events.engine import register_event
from events.models import Event
from loyalty.models import PointAccount, Program
from tests.factories import enroll

from .conftest import error_of

BUILT_IN_KEYS = {
    "_id",
    "first_name",
    "last_name",
    "nickname",
    "email",
    "birth_date",
    "gender",
    "language",
    "currency",
    "status",
    "score",
    "spent",
    "reserved",
    "spendable",
    "pending",
    "image_url",
    "optin_at",
    "last_login_at",
    "updated_at",
    "purchase_total",
    "purchase_count",
    "purchase_last_date",
    "mobile_phone",
    "referrer",
    "referrals",
}


def add_points(customer_id, points, environment="live", **data):
    return register_event(
        environment=environment, customer=customer_id, action="point_add", data={"points": points, **data}
    )


def set_program(**flags):
    program = Program.current()
    for name, value in flags.items():
        setattr(program, name, value)
    program.save()


def test_customer_object_has_the_reference_shape(api):
    with time_machine.travel(dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        enroll("john", first_name="John", last_name="Smith", birth_date="1969-12-25", gender="male")
    add_points("john", 100)
    response = api.get("/api/customers/john")
    assert response.status_code == 200, response.content
    body = response.json()
    assert BUILT_IN_KEYS <= set(body)
    assert body["_id"] == "john" and body["first_name"] == "John" and body["birth_date"] == "1969-12-25"
    assert body["status"] == "Active"
    assert body["optin_at"] == int(dt.datetime(2024, 3, 5, 12, 0, tzinfo=dt.UTC).timestamp())
    assert isinstance(body["updated_at"], int)
    assert (body["score"], body["spendable"], body["spent"], body["reserved"], body["pending"]) == (
        100,
        100,
        0,
        0,
        0,
    )
    assert body["purchase_total"] == 0 and body["purchase_count"] == 0 and body["purchase_last_date"] is None
    assert body["referrer"] is None and body["referrals"] == 0
    assert "tiers" in body and "accounts" not in body  # tiers module on, multi-accounts off by default


def test_accounts_with_burn_rates_and_expiring_points_when_multi_accounts_is_on(api):
    set_program(multi_accounts=True)
    PointAccount.objects.filter(is_default=True).update(
        burn_rates=[{"amount": 1, "points": 100, "currency": "USD"}]
    )
    from loyalty.ledger.accounts import clear_account_cache

    clear_account_cache()
    enroll("multi")
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).isoformat()
    add_points("multi", 2150, expiration_date=expires)
    body = api.get("/api/customers/multi?fields=accounts.expiring_points").json()
    account = body["accounts"][0]
    assert account["spendable"] == 2150 and account["earned"] == 2150
    assert account["burn_rates"] == [
        {"amount": 1, "points": 100, "currency": "USD", "converted_amount": 21, "unconverted_points": 50}
    ]
    assert set(account["expiring_points"]) == {
        "today",
        "this_month",
        "this_year",
        "next_month",
        "next_year",
        "reset_date",
    }
    assert account["expiring_points"]["reset_date"] is not None


def test_expiring_points_extension(api):
    enroll("exp")
    now = dt.datetime.now(dt.UTC)
    add_points("exp", 30, expiration_date=(now + dt.timedelta(hours=1)).isoformat())
    add_points("exp", 5)
    body = api.get("/api/customers/exp?fields=expiring_points.history").json()
    expiring = body["expiring_points"]
    assert expiring["this_year"] + expiring["next_year"] >= 30
    assert any(line["points"] == 30 for line in expiring["history"])


def test_purchases_extension_lists_every_period_and_alias(api):
    enroll("buyer")
    periods = [
        "today",
        "yesterday",
        "last_month",
        "this_month",
        "mtd",
        "this_year",
        "ytd",
        "this_week",
        "wtd",
        "this_quarter",
        "qtd",
        "last_30days",
        "last_12months",
        "last_24months",
        "history",
    ]
    response = api.get("/api/customers/buyer?fields=" + ",".join(f"purchases.{p}" for p in periods))
    assert response.status_code == 200, response.content
    purchases = response.json()["purchases"]
    assert purchases["overall"] == {"total": 0, "count": 0, "items": 0}
    assert set(purchases) == {"overall", *periods}


def test_purchases_count_checkouts(api):
    enroll("shopper")
    register_event(
        environment="live",
        customer="shopper",
        action="checkout",
        data={
            "transaction_id": "T-1",
            "total": "120",
            "items": [{"product_id": "A", "quantity": "2", "price": "60", "subtotal": "120"}],
        },
    )
    purchases = api.get("/api/customers/shopper?fields=purchases.mtd,purchases.history").json()["purchases"]
    assert purchases["overall"] == {"total": 120, "count": 1, "items": 2}
    assert purchases["mtd"] == {"total": 120, "count": 1, "items": 2}
    assert list(purchases["history"].values()) == [{"count": 1, "items": 2, "total": 120}]


def test_unknown_extension_is_a_400(api):
    enroll("x1")
    response = api.get("/api/customers/x1?fields=purchases.decade")
    assert response.status_code == 400
    assert error_of(response)["field"] == "fields"


def test_unknown_customer_is_160212(api):
    response = api.get("/api/customers/ghost")
    assert response.status_code == 404
    assert error_of(response)["code"] == 160212


def test_external_id_lookup_on_every_customer_endpoint(api):
    CustomField.objects.create(name="loyalty_barcode", label="Barcode", external_id=True)
    enroll("barcoded", loyalty_barcode="1234-5678-9123")
    add_points("barcoded", 5)
    ref = "loyalty_barcode:1234-5678-9123"
    assert api.get(f"/api/customers/{ref}").json()["_id"] == "barcoded"
    assert api.get(f"/api/customers/{ref}/events").status_code == 200
    assert api.get(f"/api/customers/{ref}/points").json()["points"][0]["points"] == 5
    assert api.get("/api/customers/loyalty_barcode:nope").status_code == 404
    response = api.get("/api/customers/first_name:John")
    assert response.status_code == 400  # not an external-ID field
    response = api.post("/api/events", {"customer": ref, "action": "point_add", "data": {"points": 2}})
    assert response.status_code == 200, response.content
    assert Customer.objects.get(customer_id="barcoded").spendable == 7


def test_a_key_only_sees_its_own_environment(api, sandbox_api):
    enroll("twin", environment="live", first_name="Live")
    enroll("twin", environment="sandbox", first_name="Sandbox")
    enroll("live-only", environment="live")
    assert api.get("/api/customers/twin").json()["first_name"] == "Live"
    assert sandbox_api.get("/api/customers/twin").json()["first_name"] == "Sandbox"
    assert sandbox_api.get("/api/customers/live-only").status_code == 404
    sandbox_api.post("/api/events", {"customer": "twin", "action": "point_add", "data": {"points": 9}})
    assert Customer.objects.get(customer_id="twin", environment="sandbox").spendable == 9
    assert Customer.objects.get(customer_id="twin", environment="live").spendable == 0
    events = sandbox_api.get("/api/customers/-/events").json()["data"]
    assert events and all(e["customer"] == "twin" for e in events)


def test_search_is_exact_and_case_sensitive(api):
    CustomField.objects.create(name="store", label="Store", searchable=True)
    CustomField.objects.create(name="secret_note", label="Note")
    enroll("s1", email="Ann@example.com", store="Berlin")
    enroll("s2", email="ann@example.com", store="Paris", secret_note="x")
    assert [c["_id"] for c in api.get("/api/customers?email=ann@example.com").json()["customers"]] == ["s2"]
    assert [c["_id"] for c in api.get("/api/customers?_id=s1").json()["customers"]] == ["s1"]
    assert [c["_id"] for c in api.get("/api/customers?store=Berlin").json()["customers"]] == ["s1"]
    assert api.get("/api/customers?email=ann@").json()["customers"] == []
    assert api.get("/api/customers?secret_note=x").status_code == 400
    assert error_of(api.get("/api/customers"))["code"] == 113401


def test_customer_events_are_keyset_paged_and_filtered(api):
    enroll("pager")
    for points in range(1, 6):
        add_points("pager", points)
    first = api.get("/api/customers/pager/events?limit=2").json()
    assert [e["points"] for e in first["data"]] == [5, 4]
    second = api.get(first["next"]).json()
    assert [e["points"] for e in second["data"]] == [3, 2]
    third = api.get(second["next"]).json()
    assert [e["action"] for e in third["data"]] == ["point_add", "opt_in"] and third["next"] is None
    only = api.get("/api/customers/pager/events?action=opt_in").json()["data"]
    assert [e["action"] for e in only] == ["opt_in"]
    assert api.get("/api/customers/pager/events?after=garbage").status_code == 400
    assert api.get("/api/customers/pager/events?limit=0").status_code == 400


def test_environment_events_since_a_time(api):
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        enroll("old")
    with time_machine.travel(dt.datetime(2024, 6, 1, tzinfo=dt.UTC), tick=False):
        enroll("new1")
        enroll("new2")
    body = api.get("/api/customers/-/events?timestamp.gt=2024-03-01T00:00:00Z&limit=1").json()
    assert [e["customer"] for e in body["data"]] == ["new1"]
    body = api.get(body["next"]).json()
    assert [e["customer"] for e in body["data"]] == ["new2"]
    assert body["next"] is None
    unix = int(dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp())
    assert len(api.get(f"/api/customers/-/events?timestamp.gt={unix}").json()["data"]) == 2
    assert api.get("/api/customers/-/events?timestamp.gt=yesterday").status_code == 400


def test_merge_registers_a_merge_event(api):
    enroll("keeper")
    enroll("dupe")
    add_points("dupe", 40)
    response = api.post("/api/customers/keeper/merge", {"source": "dupe"})
    assert response.status_code == 200, response.content
    assert Event.objects.filter(action="merge", customer__customer_id="keeper").exists()
    assert Customer.objects.get(customer_id="keeper").spendable == 40


def test_display_api_opt_in(api):
    response = api.post(
        "/api/customers/john-doe/opt-in",
        {
            "password": "string",
            "confirm_password": "string",
            "first_name": "John",
            "last_name": "Doe",
            "email": "john.doe@example.com",
            "birth_date": "1970-01-01",
            "gender": "female",
            "language": "en",
            "phone": "36307741144",
            "mobile_phone": "36307741144",
            "handler": "john.doe",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "Active"
    customer = Customer.objects.get(customer_id="john-doe")
    assert (customer.first_name, customer.birth_date.isoformat(), customer.handler) == (
        "John",
        "1970-01-01",
        "john.doe",
    )
    assert Event.objects.filter(customer=customer, action="opt_in").count() == 1


def test_entities_example_each_with_its_own_result(api):
    CustomField.objects.create(name="loyalty_barcode", label="Barcode", external_id=True)
    enroll("ea2a593c-d089-44b6-96e6-0a812247cda2", first_name="Getter")
    response = api.post(
        "/api/entities",
        {
            "entities": [
                {
                    "method": "PUT",
                    "type": "core/customer",
                    "id": "280e674c-c4ea-4a30-987a-d9267d1a5018",
                    "data": {"loyalty_barcode": "1234-5678-9123"},
                },
                {
                    "method": "POST",
                    "type": "core/customer",
                    "id": "loyalty_barcode:1234-5678-9123",
                    "data": {"first_name": "Test"},
                },
                {"method": "GET", "type": "core/customer", "id": "ea2a593c-d089-44b6-96e6-0a812247cda2"},
                {"method": "GET", "type": "core/customer", "id": "missing"},
                {"method": "DELETE", "type": "core/customer", "id": "x"},
            ]
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    assert (body["total"], body["errors"]) == (5, 2), [r.get("error") for r in results]
    assert results[0]["status"] == 201 and results[0]["entity"]["loyalty_barcode"] == "1234-5678-9123"
    assert results[1]["status"] == 200 and results[1]["entity"]["first_name"] == "Test"
    assert results[1]["entity"]["status"] == "Active"
    assert results[2]["entity"]["first_name"] == "Getter"
    assert results[3]["error"]["code"] == 160212
    assert results[4]["error"]["field"] == "method"
    customer = Customer.objects.get(customer_id="280e674c-c4ea-4a30-987a-d9267d1a5018")
    assert customer.first_name == "Test" and customer.status == "active"


def test_tiers_in_the_customer_object(api):
    from loyalty.models import Tier, TierStructure
    from loyalty.tiers import clear_tier_cache

    structure = TierStructure.objects.create(code="basic_tiers", name="Basic tiers")
    Tier.objects.create(structure=structure, code="T0", name="T0", threshold=0)
    Tier.objects.create(structure=structure, code="T1", name="Silver", threshold=100)
    clear_tier_cache()
    enroll("tiered")
    add_points("tiered", 150)
    tiers = api.get("/api/customers/tiered").json()["tiers"]
    assert len(tiers) == 1
    tier = tiers[0]
    assert (tier["id"], tier["name"], tier["threshold"]) == ("T1", "Silver", 100)
    assert tier["structure"] == [{"id": "basic_tiers", "name": "Basic tiers"}]
    assert set(tier) == {
        "id",
        "name",
        "since",
        "threshold",
        "expdate",
        "points",
        "points_after_expiration",
        "structure",
    }
