"""Coupons and rewards console pages: pools, codes, rewards, the Coupons tab, row actions, claim."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coupons.models import Coupon, CouponPool, Reward
from coupons.pools import import_codes
from events.models import Event
from loyalty.ledger.accounts import default_account
from tests.factories import enroll, register
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access
from tests.transactions.helpers import add_points

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(db):
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "AAA-1\nBBB-2\n")
    return pool


@pytest.fixture
def anna(anna, pool):
    """The shared Anna with 500 points and coupon AAA-1."""
    add_points(500)
    register("coupon_assign", data={"code": "AAA-1"})
    return anna


def test_pool_pages_and_permissions(client, cast, pool):
    assert_page_access(client, cast, reverse("coupons:pool_list"), allowed=STAFF_ROLES)
    assert_page_access(client, cast, reverse("coupons:pool_codes", args=[pool.pk]), allowed=STAFF_ROLES)
    assert_page_access(
        client, cast, reverse("coupons:pool_add"), allowed=["administrator", "program_manager"]
    )
    assert_page_access(
        client, cast, reverse("coupons:reward_add"), allowed=["administrator", "program_manager"]
    )


def test_generate_and_import_codes_from_the_console(admin_client, pool):
    response = admin_client.post(
        reverse("coupons:pool_generate", args=[pool.pk]), {"count": 5, "pattern": "X-????"}
    )
    assert response.status_code == 302 and Coupon.objects.filter(code__startswith="X-").count() == 5
    upload = SimpleUploadedFile("codes.csv", b"code\nCCC-3\nDDD-4\n", content_type="text/csv")
    response = admin_client.post(reverse("coupons:pool_import", args=[pool.pk]), {"file": upload})
    assert response.status_code == 302 and Coupon.objects.filter(pool=pool).count() == 9
    again = SimpleUploadedFile("codes.csv", b"EEE-5\nAAA-1\n", content_type="text/csv")
    response = admin_client.post(reverse("coupons:pool_import", args=[pool.pk]), {"file": again})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert not Coupon.objects.filter(code="EEE-5").exists()


def test_create_a_reward_in_the_console(admin_client, pool):
    response = admin_client.post(
        reverse("coupons:reward_add"),
        {
            "name": "Mug",
            "description": "",
            "image_url": "",
            "points": 100,
            "account": default_account().pk,
            "stock": 10,
            "gives": "coupon",
            "pool": pool.pk,
            "points_given": 0,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Reward.objects.get().pool == pool
    missing_pool = admin_client.post(
        reverse("coupons:reward_add"),
        {
            "name": "Bad",
            "points": 1,
            "account": default_account().pk,
            "gives": "coupon",
            "points_given": 0,
        },
    )
    assert missing_pool.status_code == 200 and "needs a coupon pool" in missing_pool.content.decode()


def test_the_coupons_tab_shows_the_coupon_with_row_actions(client, cast, anna):
    url = reverse("coupons:customer_coupons", kwargs={"ref": "Anna-1"})
    client.force_login(cast["support_agent"])
    page = client.get(url).content.decode()
    assert "AAA-1" in page and "BBB-2" not in page
    assert reverse("coupons:coupon_transfer", kwargs={"ref": "Anna-1", "code": "AAA-1"}) in page
    client.force_login(cast["analyst"])
    page = client.get(url).content.decode()
    assert "AAA-1" in page and "/transfer/" not in page


def test_transfer_from_the_console(client, cast, anna):
    bob = enroll("Bob-2", email="bob@example.com")
    url = reverse("coupons:coupon_transfer", kwargs={"ref": "Anna-1", "code": "AAA-1"})
    client.force_login(cast["analyst"])
    assert client.post(url, {"to": "bob@example.com", "reason": "gift"}).status_code == 403
    client.force_login(cast["support_agent"])
    response = client.post(url, {"to": "BOB@example.com", "reason": "gift"})
    assert response.status_code == 302
    coupon = Coupon.objects.get(code="AAA-1")
    assert coupon.customer == bob and coupon.status == "transferred"
    assert Event.objects.get(action="coupon_transfer").admin_user == cast["support_agent"]


def test_claim_a_reward_from_the_console(admin_client, anna, pool):
    reward = Reward.objects.create(
        name="Mug", points=100, account=default_account(), gives="coupon", pool=pool
    )
    url = reverse("coupons:customer_claim_reward", kwargs={"ref": "Anna-1"})
    page = admin_client.get(url).content.decode()
    assert "Mug — 100 points" in page
    response = admin_client.post(url, {"reward": reward.pk, "reason": "birthday"})
    assert response.status_code == 302
    assert Coupon.objects.get(code="BBB-2").customer == anna
    profile = admin_client.get(
        reverse("customers:customer_overview", kwargs={"ref": "Anna-1"})
    ).content.decode()
    assert url in profile


def test_row_actions_redeem_invalidate_and_expiration(admin_client, anna):
    base = {"ref": "Anna-1", "code": "AAA-1"}
    assert (
        admin_client.post(
            reverse("coupons:coupon_expiration", kwargs=base),
            {"expiration_date": "2000-01-01T00:00", "reason": "r"},
        ).status_code
        == 302
    )
    assert Coupon.objects.get(code="AAA-1").status == "expired"
    response = admin_client.post(reverse("coupons:coupon_redeem", kwargs=base), {"reason": "r"})
    assert response.status_code == 200 and "expired" in response.content.decode()
    assert (
        admin_client.post(reverse("coupons:coupon_invalidate", kwargs=base), {"reason": "r"}).status_code
        == 302
    )
    assert Coupon.objects.get(code="AAA-1").status == "invalid"
    other = {"ref": "Anna-1", "code": "BBB-2"}
    assert admin_client.get(reverse("coupons:coupon_redeem", kwargs=other)).status_code == 404


def test_a_reward_tier_id_beyond_64_bits_is_refused_on_the_field(admin_client, pool):
    """Before: eligible_tiers=10000000000000000000000000000 raised OverflowError on SQLite (a 500)."""
    response = admin_client.post(
        reverse("coupons:reward_add"),
        {
            "name": "Mug",
            "points": 100,
            "account": default_account().pk,
            "gives": "coupon",
            "pool": pool.pk,
            "points_given": 0,
            "eligible_tiers": [str(10**28)],
        },
    )
    assert response.status_code == 200 and "eligible_tiers" in response.context["form"].errors
    assert not Reward.objects.exists()
