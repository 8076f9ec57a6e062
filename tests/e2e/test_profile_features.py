"""003's Talon.One profile tabs in a real browser: the Loyalty points tab (ledger choice, Add
points with a relative reward start and expiration, Create subledger, All ledgers), the Sessions
tab (Return items), and the Loyalty cards (Change status), Referred customers, Budgets,
Achievements, Coupons and Attributes tabs. Screenshots go to docs/user-guide/img/ for the guide."""

import pytest
from playwright.sync_api import expect

from events.engine import register_event
from loyalty.models import PointLot, Program
from tests.e2e.helpers import screenshot
from transactions.models import EarningRule

pytestmark = pytest.mark.browser


@pytest.fixture
def ada(transactional_db):
    program = Program.objects.get_or_create()[0]
    program.multi_accounts = True
    program.save()
    from loyalty.ledger.accounts import default_account

    EarningRule.objects.update_or_create(account=default_account(), defaults={"points_per_unit": 1})
    register_event(environment="live", customer="ada-1", action="opt_in", data={"first_name": "Ada"})
    register_event(
        environment="live", customer="ada-1", action="point_add", data={"points": 300, "reason": "welcome"}
    )
    register_event(
        environment="live",
        customer="ada-1",
        action="checkout",
        data={
            "transaction_id": "S-100",
            "total": 120,
            "items": [
                {"product_id": "TEE", "product_name": "T-shirt", "quantity": 2, "price": 40, "subtotal": 80},
                {"product_id": "CAP", "product_name": "Cap", "quantity": 1, "price": 40, "subtotal": 40},
            ],
        },
    )


def test_loyalty_points_tab(console_page, ada):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/loyalty-points/"))
    expect(page.get_by_test_id("ledger-active")).to_have_text("420")
    page.get_by_test_id("ledger-add").click()
    page.fill("#id_points", "50")
    page.fill("#id_reason", "goodwill after a late delivery")
    page.check("input[name=reward_start][value=relative]")
    page.fill("#id_start_amount", "5")
    page.select_option("#id_start_unit", "days")
    page.select_option("#id_start_snap", "start_of_day")
    page.check("input[name=reward_expiration][value=relative]")
    page.fill("#id_expiration_amount", "1")
    page.select_option("#id_expiration_unit", "months")
    page.select_option("#id_expiration_snap", "last_day_of_month")
    screenshot(page, "profile-add-points")
    page.get_by_role("button", name="Add points").click()
    expect(page.get_by_test_id("ledger-pending")).to_have_text("50")
    lot = PointLot.objects.get(status="pending")
    assert lot.activates_at.hour == 0 and lot.expires_at.hour == 23

    page.get_by_test_id("ledger-subledger").click()
    page.fill("#id_subledger", "store-12")
    page.fill("#id_points", "70")
    page.fill("#id_reason", "store opening")
    page.get_by_role("button", name="Create subledger").click()
    page.select_option("#id_ledger", "all")
    expect(page.get_by_test_id("ledger-active")).to_have_text("490")
    expect(page.get_by_test_id("ledger-table")).to_contain_text("points/store-12")
    screenshot(page, "profile-loyalty-points")


def test_sessions_tab_return_items(console_page, ada):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/sessions/"))
    expect(page.get_by_test_id("session-state")).to_have_text("Closed")
    screenshot(page, "profile-sessions")
    page.get_by_test_id("return-items").click()
    page.fill("#id_qty_0", "1")
    page.fill("#id_reason", "one T-shirt was too small")
    screenshot(page, "profile-return-items")
    page.get_by_role("button", name="Return items").click()
    expect(page.get_by_test_id("session-state")).to_have_text("Partially returned")
    expect(page.get_by_test_id("session-returned")).to_have_text("1")


@pytest.fixture
def talon(ada):
    from achievements.models import Achievement
    from budgets.models import Budget
    from cards import cards
    from coupons.models import Coupon
    from tests.factories import CouponPoolFactory

    program = Program.objects.get()
    program.loyalty_cards = program.referrals = program.budgets = program.achievements = True
    program.save()
    Budget.objects.create(campaign="Welcome", action="points_awarded", limit=2000, period="monthly")
    Achievement.objects.create(
        api_name="five_logins", title="Five logins", counts="events", action="login", target=5
    )
    cards.create_card("live", "CARD-ADA-1")

    def reg(action, who="ada-1", **data):
        return register_event(environment="live", customer=who, action=action, data=data)

    reg("card_register", card="CARD-ADA-1")
    reg("referral_code_create", code="ADA-FRIENDS", usage_limit=5)
    reg("opt_in", who="bo-2", first_name="Bo", referral_code="ADA-FRIENDS")
    for _ in range(3):
        reg("login")
    pool = CouponPoolFactory(name="Spring 10%", type="percentage", value=10, usage_limit=3)
    Coupon.objects.create(pool=pool, code="SPRING-ADA")
    reg("coupon_assign", pool=pool.pk)
    reg("point_add", points=40)


def test_the_other_talon_tabs(console_page, talon):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/cards/"))
    expect(page.get_by_test_id("customer-cards-table")).to_contain_text("CARD-ADA-1")
    page.get_by_test_id("card-status").click()
    page.select_option("#id_status", "blocked")
    page.fill("#id_reason", "reported stolen at the till")
    page.get_by_role("button", name="Change card status").click()
    expect(page.get_by_test_id("customer-cards-table")).to_contain_text("Blocked")
    screenshot(page, "profile-cards")

    page.goto(page.live_url("/customers/ada-1/referrals/"))
    expect(page.get_by_test_id("referred-table")).to_contain_text("bo-2")
    screenshot(page, "profile-referrals")

    page.goto(page.live_url("/customers/ada-1/budgets/"))
    expect(page.get_by_test_id("budget-used")).to_have_text("40 / 2000")
    screenshot(page, "profile-budgets")

    page.goto(page.live_url("/customers/ada-1/achievements/"))
    expect(page.get_by_test_id("achievement-status")).to_have_text("In progress")
    screenshot(page, "profile-achievements")

    page.goto(page.live_url("/customers/ada-1/coupons/"))
    expect(page.locator("main")).to_contain_text("SPRING-ADA")
    screenshot(page, "profile-coupons")

    page.goto(page.live_url("/customers/ada-1/attributes/"))
    expect(page.locator("main")).to_contain_text("Ada")
    screenshot(page, "profile-attributes")
