"""Issue 15 §3: the reference's request and response shapes (reference-behaviour.md §8): the
Events API response, merge, customer search and count, histories, Display API rewards, coupons
and transactions, login and verify, Entities, bulk dry runs, guest checkouts, the credential scope
and the "module disabled" answer."""

from __future__ import annotations

import pytest

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from transactions.models import Transaction

from .conftest import error_of

pytestmark = pytest.mark.django_db


def enroll(customer_id="Anna-1", **data):
    data.setdefault("email", f"{customer_id.lower()}@example.com")
    return register_event(environment="live", customer=customer_id, action="opt_in", data=data).customer


def add_points(points, customer_id="Anna-1", **data):
    return register_event(
        environment="live", customer=customer_id, action="point_add", data={"points": points, **data}
    )


# --- module disabled -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["challenge_reset", "point_fix", "checkout_accept_item", "checkout_update_item"]
)
def test_reference_actions_without_their_module_get_the_module_disabled_answer(api, action):
    enroll()
    response = api.post(
        "/api/events", json={"customer": "Anna-1", "action": action, "data": {"challenge": "c1"}}
    )
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["type"], error["field"]) == (113408, "NotFoundException", "action")
    assert "module is disabled" in error["message"]


def test_a_typo_is_still_an_unknown_action(api):
    enroll()
    response = api.post("/api/events", json={"customer": "Anna-1", "action": "point_addd", "data": {}})
    assert response.status_code == 400 and error_of(response)["code"] == 113402


# --- bulk dry run -----------------------------------------------------------------------------


def test_bulk_dry_run_explains_and_stores_nothing(api):
    enroll()
    before = Event.objects.count()
    response = api.post(
        "/api/events/bulk?dry_run=true",
        json={
            "events": [
                {"customer": "Anna-1", "action": "point_add", "data": {"points": 10}},
                {"customer": "Anna-1", "action": "point_spend", "data": {"points": 999}},
            ]
        },
    )
    body = response.json()
    assert response.status_code == 200 and body["dry_run"] is True
    assert body["results"][0]["events"][0]["points"] == 10
    assert body["results"][1]["error"]["code"] == 160423
    assert Event.objects.count() == before
    assert Customer.objects.get(customer_id="Anna-1").spendable == 0


def test_bulk_refuses_guest_checkouts(api):
    response = api.post(
        "/api/events/bulk",
        json={
            "events": [
                {
                    "customer": "g@example.com",
                    "guest": "true",
                    "action": "checkout",
                    "data": {"transaction_id": "T-1", "total": 5},
                }
            ]
        },
    )
    assert response.json()["results"][0]["error"]["field"] == "guest"
    assert not Transaction.objects.exists()


# --- guest checkout as the reference sends it -----------------------------------------------------


def test_guest_checkout_with_a_top_level_guest_flag(api):
    response = api.post(
        "/api/events",
        json={
            "customer": "Buyer@Example.com",
            "guest": "true",
            "action": "checkout",
            "data": {"transaction_id": "T-9", "total": 20},
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["customer"], body["guest"], body["transaction_id"]) == (None, "buyer@example.com", "T-9")
    tx = Transaction.objects.get(transaction_id="T-9")
    assert tx.customer is None and tx.guest == "buyer@example.com"
    assert not Customer.objects.exists()


def test_guest_false_is_an_ordinary_checkout(api):
    enroll()
    response = api.post(
        "/api/events",
        json={
            "customer": "Anna-1",
            "guest": "false",
            "action": "checkout",
            "data": {"transaction_id": "T-8", "total": 20},
        },
    )
    assert response.status_code == 200, response.json()
    assert Transaction.objects.get(transaction_id="T-8").customer.customer_id == "Anna-1"


def test_a_bad_guest_flag_is_refused(api):
    response = api.post(
        "/api/events",
        json={
            "customer": "x@example.com",
            "guest": "maybe",
            "action": "checkout",
            "data": {"transaction_id": "T-7"},
        },
    )
    assert response.status_code == 400 and error_of(response)["field"] == "guest"


# --- credential scope ---------------------------------------------------------------------------


def test_the_credential_scope_is_an_installation_setting(client, db, settings):
    from loyalty.api.keys import create_api_key

    from .conftest import ApiClient

    settings.API_CREDENTIAL_SCOPE = "demo/api/antavo_request"
    api_key, secret = create_api_key(name="demo", environment="live")
    api = ApiClient(client, api_key, secret)
    assert api.get("/api/ping").status_code == 200  # signed with the demo scope (sign() reads the setting)
    settings.API_CREDENTIAL_SCOPE = "test/api/antavo_request"
    signed_for_demo = api.get("/api/ping")
    assert signed_for_demo.status_code == 200  # still consistent: both sides read the setting
    from loyalty.api.auth import sign

    headers = dict(sign("GET", "/api/ping", key=api_key.key, secret=secret, host="testserver"))
    settings.API_CREDENTIAL_SCOPE = "demo/api/antavo_request"
    response = client.get(
        "/api/ping",
        HTTP_HOST="testserver",
        HTTP_AUTHORIZATION=headers["Authorization"],
        HTTP_DATE=headers["Date"],
    )
    assert response.status_code == 401 and error_of(response)["code"] == 140108


# --- histories: {data, prev, next}, limit / offset / order / actions / points_only ----------------


@pytest.fixture
def history():
    enroll()
    for points in range(1, 6):
        add_points(points)
    register_event(environment="live", customer="Anna-1", action="profile", data={"first_name": "Anna"})
    return list(
        Event.objects.filter(customer__customer_id="Anna-1").order_by("id").values_list("id", flat=True)
    )


def ids(body):
    return [e["id"] for e in body["data"]]


def test_history_envelope_and_links_both_ways(api, history):
    first = api.get("/api/customers/Anna-1/events?limit=3").json()
    assert set(first) == {"data", "prev", "next"}
    assert ids(first) == history[::-1][:3] and first["prev"] is None
    second = api.get(first["next"]).json()
    assert ids(second) == history[::-1][3:6]
    third = api.get(second["next"]).json()
    assert ids(third) == history[::-1][6:] and third["next"] is None
    back = api.get(second["prev"]).json()
    assert ids(back) == ids(first) and back["prev"] is None and back["next"]


def test_history_offset_is_honoured(api, history):
    body = api.get("/api/customers/Anna-1/events?limit=2&offset=2").json()
    assert ids(body) == history[::-1][2:4]
    assert body["prev"] and body["next"]


def test_history_order_asc(api, history):
    body = api.get("/api/customers/Anna-1/events?order=asc&limit=2").json()
    assert ids(body) == history[:2]
    assert ids(api.get(body["next"]).json()) == history[2:4]


def test_history_actions_and_points_only(api, history):
    only = api.get("/api/customers/Anna-1/events?actions=opt_in,profile").json()
    assert sorted(e["action"] for e in only["data"]) == ["opt_in", "profile"]
    points = api.get("/api/customers/Anna-1/events?points_only=true").json()
    assert [e["points"] for e in points["data"]] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    "query, field",
    [
        ("order=sideways", "order"),
        ("offset=x", "offset"),
        ("points_only=maybe", "points_only"),
        ("after=abc&before=abc", "after"),
    ],
)
def test_history_parameters_are_validated(api, history, query, field):
    response = api.get(f"/api/customers/Anna-1/events?{query}")
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_environment_history_uses_the_same_envelope(api, history):
    body = api.get("/api/customers/-/events?limit=2").json()
    assert set(body) == {"data", "prev", "next"} and ids(body) == history[:2]
    assert ids(api.get(body["next"]).json()) == history[2:4]
    desc = api.get("/api/customers/-/events?limit=2&order=desc").json()
    assert ids(desc) == history[::-1][:2]


# --- customer search and count --------------------------------------------------------------


def test_customer_search_limit_offset_and_updated_since(api):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        enroll("Old-1")
    with time_machine.travel(dt.datetime(2024, 6, 1, tzinfo=dt.UTC), tick=False):
        enroll("New-1")
        enroll("New-2")
    body = api.get("/api/customers?updated_at.gt=2024-03-01T00:00:00Z").json()
    assert [c["_id"] for c in body["customers"]] == ["New-1", "New-2"]
    body = api.get("/api/customers?updated_at.gt=2024-03-01T00:00:00Z&limit=1&offset=1").json()
    assert [c["_id"] for c in body["customers"]] == ["New-2"]


def test_customer_count_counts_active_customers(api):
    from customers.choices import CustomerStatus

    enroll("A-1")
    enroll("A-2")
    enroll("A-3")
    Customer.objects.filter(customer_id="A-3").update(status=CustomerStatus.SUSPENDED)
    register_event(environment="live", customer="I-1", action="profile", data={"first_name": "X"})
    response = api.get("/api/customers/-/count")
    assert response.status_code == 200 and response.json() == {"count": 2}


# --- merge {target} ------------------------------------------------------------------------------


def test_merge_moves_the_path_customer_into_the_target(api):
    enroll("Dupe-1")
    enroll("Keeper-1")
    add_points(30, "Dupe-1")
    response = api.post("/api/customers/Dupe-1/merge", json={"target": "Keeper-1"})
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == "Keeper-1" and response.json()["spendable"] == 30
    assert Event.objects.filter(action="merge", customer__customer_id="Keeper-1").exists()
    assert api.get("/api/customers/Dupe-1").status_code == 404


@pytest.mark.parametrize(
    "body, field", [({}, "target"), ({"target": "B-1", "source": "C-1"}, "target"), ({"target": 5}, "target")]
)
def test_merge_body_is_checked(api, body, field):
    enroll("A-1")
    response = api.post("/api/customers/A-1/merge", json=body)
    assert response.status_code == 400 and error_of(response)["field"] == field


# --- Display API rewards --------------------------------------------------------------------------


@pytest.fixture
def mug(program):
    from coupons.models import CouponPool, Reward
    from coupons.pools import import_codes
    from loyalty.ledger.accounts import default_account

    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10, usage_limit=1)
    import_codes(pool, "AAA-1\nBBB-2\nCCC-3\n")
    enroll()
    add_points(100)
    Reward.objects.create(name="Off", points=1, account=default_account(), active=False)
    return Reward.objects.create(name="Mug", points=30, account=default_account(), gives="coupon", pool=pool)


def test_activity_rewards_list_and_detail(api, mug):
    body = api.get("/api/customers/Anna-1/activities/rewards").json()
    assert [r["name"] for r in body["data"]] == ["Mug"]
    assert api.get(f"/api/customers/Anna-1/activities/rewards/{mug.pk}").json()["name"] == "Mug"
    from coupons.models import Reward

    off = Reward.objects.get(name="Off")
    response = api.get(f"/api/customers/Anna-1/activities/rewards/{off.pk}")
    assert error_of(response)["code"] == 160321
    assert api.get("/api/customers/Anna-1/activities/rewards/999999").status_code == 404


def test_claim_answers_the_reference_shape(api, mug):
    response = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim?fields=customer", json={})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["spent"] == 30 and body["coupon"]["code"] in {"AAA-1", "BBB-2", "CCC-3"}
    assert Event.objects.get(pk=body["id"]).action == "reward"
    assert isinstance(body["last_claimed_at"], str) and body["customer"]["spendable"] == 70


def test_claim_count_is_all_or_nothing(api, mug):
    response = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim", json={"count": 2})
    assert response.json()["spent"] == 60 and len(response.json()["coupons"]) == 2
    refused = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim", json={"count": 2})
    assert refused.status_code == 422  # 40 points left: the second claim fails, so neither is kept
    assert Customer.objects.get(customer_id="Anna-1").spendable == 40


@pytest.mark.parametrize(
    "body, field", [({"count": 0}, "count"), ({"count": "x"}, "count"), ({"points": 5}, "points")]
)
def test_claim_parameters_are_checked(api, mug, body, field):
    response = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim", json=body)
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_revoke_gives_the_points_back_and_invalidates_the_coupon(api, mug):
    from coupons.models import Coupon

    claim = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim", json={}).json()
    response = api.post(
        f"/api/customers/Anna-1/activities/rewards/{mug.pk}/revoke", json={"event": claim["id"]}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["spendable"] == 100
    assert Coupon.objects.get(code=claim["coupon"]["code"]).status == "invalid"
    again = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/revoke", json={"event": claim["id"]})
    assert error_of(again)["code"] == 160344
    missing = api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/revoke", json={"event": 424242})
    assert error_of(missing)["code"] == 160340
    claimed = api.get("/api/customers/Anna-1/rewards").json()["data"]
    assert [(c["id"], c["reward"]["name"], c["revoked_at"] is not None) for c in claimed] == [
        (claim["id"], "Mug", True)
    ]


def test_customer_rewards_lists_claimed_rewards(api, mug):
    assert api.get("/api/customers/Anna-1/rewards").json() == {"data": []}
    api.post(f"/api/customers/Anna-1/activities/rewards/{mug.pk}/claim", json={})
    (claimed,) = api.get("/api/customers/Anna-1/rewards").json()["data"]
    assert claimed["points"] == 30 and claimed["coupon"]["status"] == "claimed"


# --- Display API transactions -----------------------------------------------------------------


def test_transactions_list_detail_and_events(api, program):
    enroll()
    for tid, total in (("T-1", 100), ("T-2", 50)):
        register_event(
            environment="live",
            customer="Anna-1",
            action="checkout",
            data={
                "transaction_id": tid,
                "total": total,
                "items": [{"product_id": "P-1", "quantity": 1, "price": total, "subtotal": total}],
            },
        )
    listing = api.get("/api/customers/Anna-1/transactions").json()
    assert [t["transaction_id"] for t in listing["data"]] == ["T-2", "T-1"] and listing["next"] is None
    assert listing["data"][0]["account"]["id"] == "points"
    status = listing["data"][0]["status"]
    assert [
        t["transaction_id"]
        for t in api.get(f"/api/customers/Anna-1/transactions?status={status}").json()["data"]
    ] == ["T-2", "T-1"]
    detail = api.get("/api/customers/Anna-1/transactions/T-1").json()
    assert detail["total"] == 100 and detail["items"][0]["product_id"] == "P-1"
    events = api.get("/api/customers/Anna-1/transactions/T-1/events").json()["data"]
    assert events[0]["action"] == "checkout" and {e["transaction_id"] for e in events} == {"T-1"}
    assert error_of(api.get("/api/customers/Anna-1/transactions/T-404"))["code"] == 160404


@pytest.mark.parametrize(
    "query, field",
    [("status=bogus", "status"), ("account=nope", "account"), ("transaction_id=%00", "transaction_id")],
)
def test_transaction_filters_are_validated(api, program, query, field):
    enroll()
    response = api.get(f"/api/customers/Anna-1/transactions?{query}")
    assert response.status_code == 400 and error_of(response)["field"] == field


# --- Entities: results / entity, error_handling, PUT -------------------------------------------------

ENTITIES = [
    {"method": "PUT", "type": "core/customer", "id": "New-1", "data": {"first_name": "Nia"}},
    {"method": "GET", "type": "core/customer", "id": "missing"},
    {"method": "PUT", "type": "core/customer", "id": "New-2", "data": {"first_name": "Noa"}},
]


@pytest.fixture
def anonymous_registration(program):
    program.anonymous_registration = True
    program.save()
    return program


def test_entities_skip_applies_what_it_can(api, anonymous_registration):
    response = api.request("PUT", "/api/entities", json={"entities": ENTITIES})
    body = response.json()
    assert response.status_code == 200 and (body["total"], body["errors"], body["applied"]) == (3, 1, True)
    assert (
        body["results"][0]["entity"]["first_name"] == "Nia" and body["results"][1]["error"]["code"] == 160212
    )
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"New-1", "New-2"}


def test_entities_pre_check_applies_nothing_when_one_fails(api, anonymous_registration):
    body = api.post("/api/entities?error_handling=pre-check", json={"entities": ENTITIES}).json()
    assert (body["errors"], body["applied"]) == (1, False)
    assert not Customer.objects.exists()
    ok = api.post(
        "/api/entities", json={"entities": [ENTITIES[0], ENTITIES[2]], "error_handling": "pre-check"}
    ).json()
    assert (ok["errors"], ok["applied"]) == (0, True)
    assert Customer.objects.count() == 2


def test_entities_fail_stops_at_the_first_failure(api, anonymous_registration):
    body = api.post("/api/entities", json={"entities": ENTITIES, "error_handling": "fail"}).json()
    assert [r["status"] for r in body["results"]] == [201, 404, 424]
    assert body["results"][2]["error"]["code"] == 140424
    assert list(Customer.objects.values_list("customer_id", flat=True)) == ["New-1"]


def test_entities_error_handling_is_validated(api):
    response = api.post("/api/entities", json={"entities": [], "error_handling": "ignore"})
    assert response.status_code == 400 and error_of(response)["field"] == "error_handling"


# --- login (daily_login) and verify ------------------------------------------------------------------


def test_login_writes_daily_login_once_per_calendar_day(api):
    import datetime as dt

    import time_machine

    enroll()
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False):
        first = api.post("/api/customers/-/login", json={"customer": "Anna-1"})
        again = api.post("/api/customers/-/login", json={"customer": "Anna-1"})
    with time_machine.travel(dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC), tick=False):
        next_day = api.post("/api/customers/-/login", json={"customer": "Anna-1"})
    assert first.status_code == 200, first.json()
    assert (first.json()["daily_login"], again.json()["daily_login"], next_day.json()["daily_login"]) == (
        True,
        False,
        True,
    )
    assert Event.objects.filter(action="login").count() == 3
    assert Event.objects.filter(action="daily_login").count() == 2
    assert Customer.objects.get(customer_id="Anna-1").last_login_at.date() == dt.date(2026, 3, 3)


def test_login_needs_a_string_customer(api):
    assert error_of(api.post("/api/customers/-/login", json={}))["field"] == "customer"
    assert error_of(api.post("/api/customers/-/login", json={"customer": 5}))["field"] == "customer"


def test_verify_with_the_opt_in_token(api, program):
    program.customer_verification = True
    program.save()
    opted = api.post("/api/customers/Vera-1/opt-in", json={"email": "vera@example.com"}).json()
    assert opted["status"] == "Pending"
    token = opted["verification_token"]
    response = api.get(f"/api/customers/-/verify?token={token}")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "Active"
    redirected = api.get(
        f"/api/customers/-/verify?token={token}&redirect_url=https://shop.example.com/welcome"
    )
    assert redirected.status_code == 302 and redirected["Location"] == "https://shop.example.com/welcome"


@pytest.mark.parametrize(
    "query, field",
    [("token=forged", "token"), ("", "token"), ("token=x&redirect_url=javascript:alert(1)", "redirect_url")],
)
def test_verify_refuses_bad_tokens_and_redirects(api, query, field):
    response = api.get(f"/api/customers/-/verify?{query}")
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_history_is_an_alias_of_events(api, history):
    alias = api.get("/api/customers/Anna-1/history?limit=3").json()
    assert alias["data"] == api.get("/api/customers/Anna-1/events?limit=3").json()["data"]
    assert alias["next"].startswith("/api/customers/Anna-1/history?")
