"""Commerce in a real browser: a checkout in the Transactions tab, refunded, seen in the points
history; a reward claimed from the profile and its coupon in the Coupons tab; a coupon transferred."""

import pytest
from playwright.sync_api import expect

from coupons.models import Coupon, CouponPool, Reward
from coupons.pools import import_codes
from events.engine import register_event
from loyalty.ledger.accounts import default_account
from tests.e2e.helpers import screenshot
from transactions.models import EarningRule

pytestmark = pytest.mark.browser


def event(customer, action, **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


@pytest.fixture
def shop(transactional_db):
    EarningRule.objects.create(account=default_account(), points_per_unit=1)
    event("ada-1", "opt_in", first_name="Ada", last_name="Lovelace", email="ada@example.com")
    event("max-2", "opt_in", first_name="Max", last_name="Planck", email="Max.Planck@example.com")
    event("ada-1", "point_add", points=300, reason="welcome")
    event(
        "ada-1",
        "checkout",
        transaction_id="ORDER-1001",
        total="120",
        items=[
            {
                "product_id": "TEE-Y",
                "product_name": "Yellow T-Shirt",
                "quantity": "2",
                "price": "60",
                "subtotal": "120",
                "product_category": "t-shirts",
            },
        ],
    )
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "TEN-AAAA\nTEN-BBBB\n")
    Reward.objects.create(
        name="Ten euro voucher", points=200, account=default_account(), gives="coupon", pool=pool
    )


def test_a_checkout_in_the_transactions_tab_refunded_and_seen_in_the_points_history(console_page, shop):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/"))
    page.get_by_role("link", name="Transactions").first.click()
    table = page.locator("[data-testid=transactions-table]")
    expect(table).to_contain_text("ORDER-1001")
    expect(table).to_contain_text("120")
    screenshot(page, "commerce-transactions-tab")
    table.get_by_role("link", name="Details").click()
    expect(page.locator("[data-testid=transaction-items]")).to_contain_text("Yellow T-Shirt")
    screenshot(page, "commerce-transaction-details")
    page.get_by_role("link", name="Refund", exact=True).click()
    page.fill("textarea[name=reason]", "Parcel returned")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-testid=transaction-status]")).to_have_text("Refunded")
    expect(page.locator("[data-testid=transaction-refunded]")).to_contain_text("120.00")
    page.goto(page.live_url("/customers/ada-1/points/"))
    points = page.locator("[data-testid=points-table]")
    expect(points).to_contain_text("Refund")
    expect(points).to_contain_text("-120")
    expect(page.locator("[data-testid=customer-spendable]")).to_have_text("300")


def test_claim_a_reward_in_the_console_and_see_the_coupon(console_page, shop):
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/"))
    page.locator("details.more-actions summary").click()
    page.get_by_role("link", name="Claim a reward").click()
    page.select_option("select[name=reward]", label="Ten euro voucher — 200 points")
    page.fill("textarea[name=reason]", "Birthday")
    page.get_by_role("button", name="Confirm").click()
    coupons = page.locator("[data-testid=coupons-table]")
    expect(coupons).to_contain_text("TEN-AAAA")
    expect(coupons).to_contain_text("Claimed")
    expect(page.locator("[data-testid=customer-spendable]")).to_have_text(str(300 + 120 - 200))
    screenshot(page, "commerce-coupons-tab")


def test_transfer_a_coupon(console_page, shop):
    event("ada-1", "reward", reward=Reward.objects.get().pk)
    page = console_page("support_agent")
    page.goto(page.live_url("/customers/ada-1/coupons/"))
    page.locator("[data-testid=coupons-table] details.row-actions summary").click()
    page.get_by_role("link", name="Transfer").click()
    page.fill("input[name=to]", "max.planck@EXAMPLE.com")
    page.fill("textarea[name=reason]", "Gift to a friend")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-testid=coupons-table]")).not_to_contain_text("TEN-AAAA")
    page.goto(page.live_url("/customers/max-2/coupons/"))
    expect(page.locator("[data-testid=coupons-table]")).to_contain_text("TEN-AAAA")
    expect(page.locator("[data-testid=coupons-table]")).to_contain_text("Transferred")
    assert Coupon.objects.get(code="TEN-AAAA").customer.customer_id == "max-2"
