"""Bidding (auction) rewards: POST .../activities/rewards/{reward}/bid, the reservations it makes
and releases, the refusals with their codes, and the scheduled settlement (coupons.tasks)."""

import datetime as dt

import pytest
from django.urls import reverse

from coupons.choices import BidStatus
from coupons.models import Coupon, CouponPool, Reward, RewardBid, RewardClaim
from coupons.pools import import_codes
from coupons.tasks import settle_auctions
from events.models import Event
from loyalty import clock
from loyalty.errors import InternalAction
from loyalty.ledger.accounts import default_account
from loyalty.models import Program
from tests.factories import enroll, register
from tests.transactions.helpers import balance

pytestmark = pytest.mark.django_db


def bid(api, customer, reward, amount=None):
    body = {} if amount is None else {"amount": amount}
    return api.post(f"/api/customers/{customer}/activities/rewards/{reward.pk}/bid", json=body)


def figures(customer):
    row = balance(customer)
    return (row.spendable, row.reserved, row.spent) if row else (0, 0, 0)


def end(reward):
    Reward.objects.filter(pk=reward.pk).update(valid_until=clock.now() - dt.timedelta(seconds=1))


@pytest.fixture
def auction(program):
    enroll("Anna-1", points=500)
    enroll("Ben-2", points=500)
    now = clock.now()
    return Reward.objects.create(
        name="Designer bag",
        account=default_account(),
        bidding=True,
        starting_bid=100,
        bid_step=50,
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=1),
    )


def test_an_automatic_bid_is_the_starting_bid_then_highest_plus_step(api, auction):
    first = bid(api, "Anna-1", auction)
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["type"] == "bidding" and body["bid_step"] == 50
    assert body["highest_bid"] == {"own": True, "points": 100} and body["bid"]["points"] == 100
    assert body["minimum_bid"] == 150 and body["ends_at"] == auction.valid_until.isoformat()
    assert figures("Anna-1") == (400, 100, 0)
    second = bid(api, "Ben-2", auction)
    assert second.status_code == 200 and second.json()["bid"]["points"] == 150
    # Anna was outbid: her reservation is released by her own event, in the same transaction.
    assert figures("Anna-1") == (500, 0, 0) and figures("Ben-2") == (350, 150, 0)
    release = Event.objects.get(action="reward_bid_release")
    assert release.customer.customer_id == "Anna-1" and release.points == 100
    assert release.data == {"reward": str(auction.pk), "bid": first.json()["bid"]["id"]}
    assert Event.objects.get(pk=second.json()["bid"]["id"]).points == -150
    statuses = dict(RewardBid.objects.values_list("customer__customer_id", "status"))
    assert statuses == {"Anna-1": BidStatus.OUTBID, "Ben-2": BidStatus.LEADING}


def test_a_starting_bid_of_zero_makes_the_first_automatic_bid_one_point(api, auction):
    Reward.objects.filter(pk=auction.pk).update(starting_bid=0)
    first = bid(api, "Anna-1", auction)
    assert first.status_code == 200, first.json()
    assert first.json()["bid"]["points"] == 1 and figures("Anna-1") == (499, 1, 0)
    assert bid(api, "Ben-2", auction, 0).json()["error"]["code"] == 113400  # not a positive amount


def test_an_explicit_amount_and_a_raise_of_ones_own_bid(api, auction):
    assert bid(api, "Anna-1", auction, 120).json()["bid"]["points"] == 120
    raised = bid(api, "Anna-1", auction, 300)
    assert raised.status_code == 200, raised.json()
    assert figures("Anna-1") == (200, 300, 0)
    own_release = Event.objects.get(action="reward_bid_release")
    assert own_release.parent_id == raised.json()["bid"]["id"] and own_release.points == 120
    assert RewardBid.objects.filter(status=BidStatus.LEADING).count() == 1


@pytest.mark.parametrize(
    ("amount", "code", "field"),
    [
        (99, 160450, "data.amount"),
        (0, 113400, "amount"),
        ("1e3", 113400, "amount"),
        (501, 160423, "data.points"),
    ],
)
def test_bids_below_the_minimum_or_beyond_the_balance_are_refused(api, auction, amount, code, field):
    response = bid(api, "Anna-1", auction, amount)
    assert response.json()["error"]["code"] == code, response.json()
    assert response.json()["error"].get("field") == field
    assert not RewardBid.objects.exists() and figures("Anna-1") == (500, 0, 0)


def test_a_bid_must_pass_the_highest_by_the_step(api, auction):
    assert bid(api, "Anna-1", auction, 200).status_code == 200
    low = bid(api, "Ben-2", auction, 249)
    assert low.status_code == 422 and low.json()["error"]["code"] == 160450
    assert "250" in low.json()["error"]["message"]
    assert bid(api, "Ben-2", auction, 250).status_code == 200


def test_refusals_before_the_start_after_the_end_and_for_customers_who_cannot_spend(api, auction):
    Reward.objects.filter(pk=auction.pk).update(valid_from=clock.now() + dt.timedelta(hours=1))
    assert bid(api, "Anna-1", auction).json()["error"]["code"] == 160321
    Reward.objects.filter(pk=auction.pk).update(valid_from=None)
    end(auction)
    assert bid(api, "Anna-1", auction).json()["error"]["code"] == 160321
    Reward.objects.filter(pk=auction.pk).update(valid_until=clock.now() + dt.timedelta(hours=1))
    register("suspend", "Ben-2")
    suspended = bid(api, "Ben-2", auction)
    assert suspended.status_code == 403 and suspended.json()["error"]["code"] == 110003
    assert not RewardBid.objects.exists()


def test_not_a_bidding_reward_unknown_ones_and_the_module_switch(api, auction):
    plain = Reward.objects.create(name="Mug", points=10, account=default_account())
    assert bid(api, "Anna-1", plain).json()["error"]["code"] == 160451
    missing = api.post("/api/customers/Anna-1/activities/rewards/999999/bid", json={})
    assert missing.status_code == 404
    assert api.post(f"/api/customers/Nobody/activities/rewards/{auction.pk}/bid", json={}).status_code == 404
    program = Program.objects.get(pk=Program.current().pk)
    program.rewards = False
    program.save()
    off = bid(api, "Anna-1", auction)
    assert off.status_code == 404 and off.json()["error"]["code"] == 113408


def test_a_bidding_reward_cannot_be_claimed_and_bids_cannot_go_through_the_events_api(api, auction):
    for path in (
        f"/api/customers/Anna-1/activities/rewards/{auction.pk}/claim",
        f"/api/customers/Anna-1/rewards/{auction.pk}/claim",
    ):
        response = api.post(path, json={})
        assert response.status_code == 422 and response.json()["error"]["code"] == 160452
    events = api.post(
        "/api/events", json={"customer": "Anna-1", "action": "reward_bid", "data": {"reward": "1"}}
    )
    assert events.json()["error"]["code"] == 113403
    with pytest.raises(InternalAction):
        register("reward_bid", "Anna-1", {"reward": str(auction.pk)})
    assert figures("Anna-1") == (500, 0, 0)


def test_the_settlement_spends_the_winners_reservation_and_claims_the_reward(api, auction):
    pool = CouponPool.objects.create(name="Bag voucher", type="amount", value=100)
    import_codes(pool, "BAG-1\n")
    Reward.objects.filter(pk=auction.pk).update(gives="coupon", pool=pool)
    bid(api, "Anna-1", auction)
    winning = bid(api, "Ben-2", auction, 400).json()["bid"]["id"]
    assert settle_auctions() == 0  # not ended yet
    end(auction)
    assert settle_auctions() == 1 and settle_auctions() == 0  # idempotent
    assert figures("Ben-2") == (100, 0, 400) and figures("Anna-1") == (500, 0, 0)
    claim = RewardClaim.objects.get()
    assert claim.customer.customer_id == "Ben-2" and claim.points == 400
    assert Coupon.objects.get(code="BAG-1").customer.customer_id == "Ben-2"
    won = RewardBid.objects.get(event_id=winning)
    assert won.status == BidStatus.WON and won.claim_event_id == claim.event_id
    # The bid's event took the points from spendable; the claim spends reserved ones (0 spendable).
    assert claim.event.action == "reward" and claim.event.source == "system" and claim.event.points == 0
    assert Event.objects.get(pk=winning).points == -400
    claimed = api.get("/api/customers/Ben-2/rewards").json()["data"]
    assert [c["points"] for c in claimed] == [400] and claimed[0]["reward"]["type"] == "bidding"


def test_a_winner_who_may_no_longer_claim_gets_the_points_back(api, auction):
    bid(api, "Anna-1", auction, 250)
    register("suspend", "Anna-1")
    end(auction)
    assert settle_auctions() == 1
    assert figures("Anna-1") == (500, 0, 0) and not RewardClaim.objects.exists()
    assert RewardBid.objects.get().status == BidStatus.VOID
    assert Event.objects.filter(action="reward_bid_release", customer__customer_id="Anna-1").count() == 1


def test_the_activities_list_shows_the_auction_as_the_customer_sees_it(api, auction):
    bid(api, "Anna-1", auction)
    mine = api.get(f"/api/customers/Anna-1/activities/rewards/{auction.pk}").json()
    theirs = [
        r for r in api.get("/api/customers/Ben-2/activities/rewards").json()["data"] if r["id"] == auction.pk
    ]
    assert mine["highest_bid"] == {"own": True, "points": 100}
    assert theirs[0]["highest_bid"] == {"own": False, "points": 100} and theirs[0]["minimum_bid"] == 150


def test_merging_moves_the_leading_bid_with_its_reserved_points(api, auction):
    bid(api, "Anna-1", auction, 200)
    register("merge", "Ben-2", {"source": "Anna-1"})
    assert RewardBid.objects.get().customer.customer_id == "Ben-2"
    assert figures("Ben-2") == (800, 200, 0)
    end(auction)
    assert settle_auctions() == 1 and figures("Ben-2") == (800, 0, 200)


def test_the_sandbox_has_its_own_auction(api, auction):
    enroll("Sam-3", environment="sandbox", points=500)
    bid(api, "Anna-1", auction, 300)
    register("reward_bid", "Sam-3", {"reward": str(auction.pk)}, environment="sandbox", internal=True)
    sandbox = RewardBid.objects.get(environment="sandbox")
    assert sandbox.points == 100 and sandbox.status == BidStatus.LEADING
    assert RewardBid.objects.get(environment="live").status == BidStatus.LEADING


FORM = {
    "name": "Auction",
    "description": "",
    "image_url": "",
    "points": 0,
    "gives": "nothing",
    "points_given": 0,
    "active": "on",
    "bidding": "on",
    "starting_bid": 100,
    "bid_step": 10,
}


def test_the_console_form_creates_an_auction_and_refuses_one_without_an_end(admin_client, program):
    url = reverse("coupons:reward_add")
    form = {**FORM, "account": default_account().pk}
    no_end = admin_client.post(url, form)
    assert no_end.status_code == 200 and "needs an end" in no_end.content.decode()
    no_step = admin_client.post(url, {**form, "valid_until": "2099-01-01T12:00", "bid_step": 0})
    assert no_step.status_code == 200 and "at least 1 point" in no_step.content.decode()
    past = admin_client.post(url, {**form, "valid_until": "2020-01-01T12:00"})
    assert past.status_code == 200 and "end has passed" in past.content.decode()
    assert not Reward.objects.exists()
    created = admin_client.post(url, {**form, "valid_until": "2099-01-01T12:00"})
    assert created.status_code == 302, created.content.decode()[:2000]
    reward = Reward.objects.get()
    assert reward.bidding and reward.starting_bid == 100 and reward.bid_step == 10


def test_the_reward_page_lists_the_bids_and_locks_the_auction_settings(api, admin_client, auction):
    url = reverse("coupons:reward_edit", args=[auction.pk])
    assert "No bids yet" in admin_client.get(url).content.decode()
    bid(api, "Anna-1", auction)
    bid(api, "Ben-2", auction)
    page = admin_client.get(url).content.decode()
    assert 'data-testid="reward-bids"' in page and "Ben-2" in page and "Outbid" in page and "Leading" in page
    form = {
        **FORM,
        "name": auction.name,
        "account": default_account().pk,
        "starting_bid": 5,
        "bid_step": 50,
        "valid_from": auction.valid_from.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": auction.valid_until.strftime("%Y-%m-%dT%H:%M"),
    }
    changed = admin_client.post(url, form)
    assert changed.status_code == 200 and "cannot change any more" in changed.content.decode()
    assert Reward.objects.get(pk=auction.pk).starting_bid == 100


def test_the_console_claim_form_does_not_offer_bidding_rewards(admin_client, auction):
    Reward.objects.create(name="Mug", points=10, account=default_account())
    page = admin_client.get(
        reverse("coupons:customer_claim_reward", kwargs={"ref": "Anna-1"})
    ).content.decode()
    assert "Mug" in page and "Designer bag" not in page


def test_the_overview_does_not_list_a_bidding_reward_as_available(admin_client, auction):
    Reward.objects.create(name="Mug", points=10, account=default_account())
    page = admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "Anna-1"}))
    assert page.status_code == 200
    available = [r.name for r in page.context["rewards"]["available"]]
    assert available == ["Mug"]


def test_the_entities_api_creates_an_auction_and_never_archives_one_with_bids(api, program):
    base = "/api/entities/rewards/reward"
    no_end = api.put(base, json={"name": "Bag", "bidding": True, "starting_bid": 50, "bid_step": 10})
    assert no_end.status_code == 400 and no_end.json()["error"]["field"] == "valid_until"
    created = api.put(
        base,
        json={
            "name": "Bag",
            "bidding": True,
            "starting_bid": 50,
            "bid_step": 10,
            "valid_until": (clock.now() + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert created.status_code == 200, created.content
    entity = created.json()
    assert (entity["bidding"], entity["starting_bid"], entity["bid_step"]) == (True, 50, 10)
    enroll("Anna-1", points=100)
    reward = Reward.objects.get(pk=entity["id"])
    assert bid(api, "Anna-1", reward).json()["bid"]["points"] == 50
    assert api.post(f"{base}/{entity['id']}", json={"active": False}).status_code == 200
    refused = api.delete(f"{base}/{entity['id']}")
    assert refused.status_code == 409 and Reward.objects.filter(pk=entity["id"]).exists()


def test_advancing_the_sandbox_clock_settles_the_sandbox_auction_only(api, sandbox_api, auction):
    enroll("Sam-3", environment="sandbox", points=500)
    assert bid(sandbox_api, "Sam-3", auction, 200).status_code == 200
    assert bid(api, "Anna-1", auction, 300).status_code == 200
    response = sandbox_api.post("/api/sandbox/clock", {"days": 2})
    assert response.status_code == 200 and response.json()["work"]["auctions_settled"] == 1
    assert RewardClaim.objects.get().customer.customer_id == "Sam-3"
    statuses = dict(RewardBid.objects.values_list("environment", "status"))
    assert statuses == {"sandbox": BidStatus.WON, "live": BidStatus.LEADING}
    assert figures("Anna-1") == (200, 300, 0)


def test_outbidding_a_leader_who_opted_out_still_works(api, auction):
    bid(api, "Anna-1", auction, 200)
    register("opt_out", "Anna-1")
    response = bid(api, "Ben-2", auction)
    assert response.status_code == 200, response.json()
    assert response.json()["bid"]["points"] == 250 and figures("Ben-2") == (250, 250, 0)
    assert dict(RewardBid.objects.values_list("points", "status")) == {
        200: BidStatus.VOID,
        250: BidStatus.LEADING,
    }
