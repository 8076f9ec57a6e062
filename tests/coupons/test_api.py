"""The rewards and coupons API, and 002's checkout bodies through POST /api/events."""

import pytest

from coupons.models import Coupon, CouponPool, Reward
from coupons.pools import import_codes
from loyalty.ledger.accounts import default_account
from tests.factories import enroll, register
from tests.transactions.helpers import add_points, rule
from tests.transactions.test_guest_and_stats import CURL_BODY, JSON_BODY, _shape
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(program):
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10, usage_limit=2)
    import_codes(pool, "AAA-1\nBBB-2\n")
    enroll("Anna-1")
    add_points(150)
    mug = Reward.objects.create(name="Mug", points=100, account=default_account(), gives="coupon", pool=pool)
    Reward.objects.create(name="Hidden", points=1, account=default_account(), active=False)
    Reward.objects.create(name="Dear", points=1000, account=default_account())
    return mug


def test_list_claimable_rewards(api, shop):
    response = api.get("/api/customers/Anna-1/activities/rewards")
    assert response.status_code == 200
    rewards = {r["name"]: r for r in response.json()["data"]}
    assert (
        set(rewards) == {"Mug", "Dear"} and rewards["Mug"]["affordable"] and not rewards["Dear"]["affordable"]
    )


def test_claim_a_reward_and_list_the_coupons(api, shop):
    response = api.post(
        f"/api/customers/Anna-1/rewards/{shop.pk}/claim", json={}, headers={"Idempotency-Key": "k1"}
    )
    assert response.status_code == 200, response.json()
    code = response.json()["coupon"]["code"]
    assert response.json()["spendable"] == 50
    again = api.post(
        f"/api/customers/Anna-1/rewards/{shop.pk}/claim", json={}, headers={"Idempotency-Key": "k1"}
    )
    assert again.json()["coupon"]["code"] == code and Coupon.objects.exclude(customer=None).count() == 1
    refused = api.post(f"/api/customers/Anna-1/rewards/{shop.pk}/claim", json={})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == 160423
    coupons = api.get("/api/customers/Anna-1/coupons").json()["data"]
    assert [c["code"] for c in coupons] == [code] and coupons[0]["status"] == "claimed"


def test_redeem_by_code(api, shop):
    register("coupon_assign", data={"code": "AAA-1"})
    response = api.post("/api/coupons/AAA-1/redeem", json={"transaction_id": "T-1"})
    assert response.status_code == 200 and response.json()["coupon"]["usages"] == 1
    assert api.post("/api/coupons/NOPE/redeem", json={}).status_code == 404
    unassigned = api.post("/api/coupons/BBB-2/redeem", json={})
    assert unassigned.status_code == 400 and unassigned.json()["error"]["field"] == "customer"


def test_unknown_customer_and_reward(api, shop):
    assert api.get("/api/customers/Nobody/rewards").status_code == 404
    assert api.post("/api/customers/Anna-1/rewards/99999/claim", json={}).status_code == 404


def test_002_json_and_form_encoded_checkout_through_the_api_make_the_same_transaction(api, program):
    rule()
    assert api.post("/api/events", json=JSON_BODY).status_code == 200
    first = Transaction.objects.get()
    shape = _shape(first)
    first_customer = first.customer_id
    Transaction.objects.all().delete()
    response = api.post("/api/events", body=CURL_BODY, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.json()
    second = Transaction.objects.get()
    assert _shape(second) == shape and second.customer_id == first_customer
