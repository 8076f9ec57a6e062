"""Coupon pools, codes and the coupon events (000 "Coupons")."""

import datetime as dt
from decimal import Decimal

import pytest

from coupons.models import Coupon, CouponPool, CouponRedemption
from coupons.pools import generate_codes, import_codes
from events.models import Event
from loyalty import clock
from loyalty.errors import BusinessRuleError, Conflict, NotFound, ValidationError
from tests.factories import console, enroll, register
from tests.transactions.helpers import checkout, rule, tx

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(db):
    return CouponPool.objects.create(
        name="Ten off", type="amount", value=10, usage_limit=1, code_pattern="TEN-????"
    )


def coupon(code):
    return Coupon.objects.get(code=code)


def test_generated_codes_follow_the_pattern_are_unique_and_unambiguous(pool):
    codes = generate_codes(pool, 300)
    assert len(set(codes)) == 300 and Coupon.objects.filter(pool=pool, status="unassigned").count() == 300
    for code in codes:
        assert code.startswith("TEN-") and len(code) == 8
        assert not set(code[4:]) & set("01OIL")


def test_a_pattern_too_small_for_the_count_is_refused(pool):
    with pytest.raises(ValidationError, match="too few"):
        generate_codes(pool, 1000, pattern="X-?")
    assert not Coupon.objects.exists()


def test_csv_import_is_all_or_nothing(pool):
    assert import_codes(pool, "code\nAAA-1\nBBB-2\n") == ["AAA-1", "BBB-2"]
    with pytest.raises(ValidationError, match="already exists"):
        import_codes(pool, "CCC-3\nAAA-1\n")
    with pytest.raises(ValidationError, match="appears twice"):
        import_codes(pool, "DDD-4\nDDD-4\n")
    with pytest.raises(ValidationError, match="not a valid code"):
        import_codes(pool, "a b\n")
    assert Coupon.objects.count() == 2


def test_assign_redeem_and_unredeem(anna, pool):
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"pool": pool.pk})
    c = coupon("AAA-1")
    assert c.customer == anna and c.status == "claimed" and c.claimed_at is not None
    register("coupon_redeem", data={"code": "AAA-1"})
    c = coupon("AAA-1")
    assert c.status == "redeemed" and c.usages == 1 and c.redeemed_at is not None
    with pytest.raises(BusinessRuleError, match="used up"):
        register("coupon_redeem", data={"code": "AAA-1"})
    register("coupon_unredeem", data={"code": "AAA-1"})
    c = coupon("AAA-1")
    assert c.status == "claimed" and c.usages == 0


def test_a_gift_card_balance_goes_down_with_partial_redemptions(anna):
    gift = CouponPool.objects.create(name="Gift", type="gift_card", value=50)
    import_codes(gift, "GIFT-1\n")
    register("coupon_assign", data={"code": "GIFT-1"})
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 20})
    assert coupon("GIFT-1").balance == Decimal("30") and coupon("GIFT-1").status == "claimed"
    with pytest.raises(BusinessRuleError, match="balance of 30"):
        register("coupon_redeem", data={"code": "GIFT-1", "amount": 31})
    register("coupon_redeem", data={"code": "GIFT-1", "amount": 30})
    assert coupon("GIFT-1").balance == 0 and coupon("GIFT-1").status == "redeemed"
    assert coupon("GIFT-1").usages == 2


def test_a_checkout_naming_a_coupon_redeems_it_and_a_reject_gives_it_back(anna, pool):
    rule()
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    result = checkout("T-1", 100, coupon_code="AAA-1")
    assert coupon("AAA-1").status == "redeemed"
    assert [e.action for e in result.events] == ["checkout", "coupon_redeem"]
    assert CouponRedemption.objects.get().transaction_id == "T-1"
    register("checkout_reject", data={"transaction_id": "T-1"})
    assert coupon("AAA-1").status == "claimed" and tx().status == "rejected"


def test_a_checkout_with_a_used_up_coupon_is_refused_whole(anna, pool):
    rule()
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    register("coupon_redeem", data={"code": "AAA-1"})
    with pytest.raises(BusinessRuleError):
        checkout("T-1", 100, coupon_codes=["AAA-1"])
    assert not Event.objects.filter(action="checkout").exists()


def test_console_actions_invalidate_unassign_and_change_expiration(anna, pool, admin_user):
    import_codes(pool, "AAA-1\nBBB-2\n")
    register("coupon_assign", data={"code": "AAA-1"})
    register("coupon_assign", data={"code": "BBB-2"})
    console("coupon_invalidate", data={"code": "AAA-1"}, admin_user=admin_user, reason="fraud")
    assert coupon("AAA-1").status == "invalid"
    event = Event.objects.filter(action="coupon_invalidate").get()
    assert event.admin_user == admin_user and event.reason == "fraud"
    with pytest.raises(Conflict):
        console("coupon_invalidate", data={"code": "AAA-1"}, reason="again")
    past = (clock.now() - dt.timedelta(days=1)).isoformat()
    console("coupon_expiration_change", data={"code": "BBB-2", "expiration_date": past}, reason="r")
    assert coupon("BBB-2").status == "expired"
    with pytest.raises(BusinessRuleError, match="expired"):
        register("coupon_redeem", data={"code": "BBB-2"})
    future = (clock.now() + dt.timedelta(days=10)).isoformat()
    console("coupon_expiration_change", data={"code": "BBB-2", "expiration_date": future}, reason="r")
    assert coupon("BBB-2").status == "claimed"
    console("coupon_unassign", data={"code": "BBB-2"}, reason="wrong customer")
    assert coupon("BBB-2").status == "unassigned" and coupon("BBB-2").customer is None


def test_transfer_finds_the_recipient_by_id_or_email_case_insensitively(anna, pool):
    bob = enroll("Bob-2", email="bob@example.com")
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    console("coupon_transfer", data={"code": "AAA-1", "to": "BOB@EXAMPLE.COM"}, reason="gift")
    c = coupon("AAA-1")
    assert c.customer == bob and c.status == "transferred" and c.transferred_from == anna
    with pytest.raises(Conflict, match="not this customer's"):
        console("coupon_transfer", data={"code": "AAA-1", "to": "bob-2"}, reason="again")
    console("coupon_transfer", "Bob-2", data={"code": "AAA-1", "to": "anna-1"}, reason="back")
    assert coupon("AAA-1").customer == anna
    with pytest.raises(NotFound):
        console("coupon_transfer", data={"code": "AAA-1", "to": "nobody@example.com"}, reason="x")


def test_someone_elses_coupon_cannot_be_redeemed(anna, pool):
    enroll("Bob-2")
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    with pytest.raises(Conflict):
        register("coupon_redeem", "Bob-2", {"code": "AAA-1"})
    assert coupon("AAA-1").usages == 0


def test_a_held_coupon_past_its_date_shows_and_is_stored_as_expired(anna, pool):
    from coupons.coupons import expire_due

    import_codes(pool, "AAA-1\n")
    register("coupon_assign", data={"code": "AAA-1"})
    Coupon.objects.filter(code="AAA-1").update(expires_at=clock.now() - dt.timedelta(minutes=1))
    c = coupon("AAA-1")
    assert c.status == "claimed" and c.current_status(clock.now()) == "expired"
    with pytest.raises(BusinessRuleError, match="expired"):
        register("coupon_redeem", data={"code": "AAA-1"})
    assert expire_due(clock.now()) == 1 and coupon("AAA-1").status == "expired"


def test_merge_moves_coupons_claims_and_transactions_and_opt_out_scrubs(anna, pool):
    from transactions.models import Transaction

    rule()
    enroll("Bob-2")
    import_codes(pool, "AAA-1\n")
    register("coupon_assign", "Bob-2", {"code": "AAA-1"})
    checkout("T-B", 40, customer="Bob-2", channel="web", note="leave at door")
    register("merge", "Anna-1", {"source": "Bob-2"})
    assert coupon("AAA-1").customer == anna and Transaction.objects.get(transaction_id="T-B").customer == anna
    register("opt_out", "Anna-1", {})
    t = Transaction.objects.get(transaction_id="T-B")
    assert t.data == {} and t.channel == "" and t.total == 40


def test_the_scheduled_task_stores_expired_status_once_and_is_scheduled(anna, pool):
    from django_q.models import Schedule

    from coupons.tasks import expire_coupons

    import_codes(pool, "AAA-1\nAAA-2\n")
    register("coupon_assign", data={"code": "AAA-1"})
    register("coupon_assign", data={"code": "AAA-2"})
    Coupon.objects.filter(code="AAA-1").update(expires_at=clock.now() - dt.timedelta(minutes=1))
    assert expire_coupons() == 1
    assert expire_coupons() == 0
    assert coupon("AAA-1").status == "expired" and coupon("AAA-2").status == "claimed"
    assert Schedule.objects.filter(func="coupons.tasks.expire_coupons", schedule_type="H").exists()
