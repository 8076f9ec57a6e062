"""Profile tabs: access per role, content, 404s, and query counts that do not grow with rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.tabs import CUSTOMER_TABS
from events.engine import register_event
from loyalty.models import Tier, TierStructure
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

from .conftest import profile

TABS = ["overview", "personal", "events", "points", "tiers", "changes"]


@pytest.mark.parametrize("tab", TABS)
def test_every_staff_role_opens_every_tab(client, cast, anna, tab):
    responses = assert_page_access(client, cast, profile("Anna-1", tab), allowed=STAFF_ROLES)
    html = responses["analyst"].content.decode()
    # The header on every tab: name, ID, status, spendable.
    assert "Anna Smith" in html and 'data-testid="customer-id">Anna-1<' in html
    assert 'data-testid="customer-spendable">500<' in html and "Active" in html


@pytest.mark.parametrize("tab", TABS)
def test_unknown_and_anonymized_customers_are_404(admin_client, anna, tab):
    assert admin_client.get(profile("nobody-here", tab)).status_code == 404
    register_event(environment="live", customer="Anna-1", action="opt_out")
    assert admin_client.get(profile("Anna-1", tab)).status_code == 404


def test_customers_of_the_other_environment_are_404(admin_client, anna):
    session = admin_client.session
    session["console_environment"] = "sandbox"
    session.save()
    assert admin_client.get(profile("Anna-1")).status_code == 404


def test_tabs_link_to_each_other_and_mark_the_active_one(admin_client, anna):
    response = admin_client.get(profile("Anna-1", "events"))
    tabs = response.context["tabs"]
    mine = ["Overview", "Personal information", "Events", "Points history", "Tiers", "Changes"]
    labels = [t["label"] for t in tabs]
    assert [label for label in labels if label in mine] == mine  # other apps' tabs slot in by weight
    assert [t["label"] for t in tabs if t["active"]] == ["Events"]
    assert {t.label for t in CUSTOMER_TABS} >= set(mine)


def test_tiers_tab_hidden_when_module_off(admin_client, anna, program):
    program.tiers = False
    program.save()
    response = admin_client.get(profile("Anna-1"))
    assert "Tiers" not in [t["label"] for t in response.context["tabs"]]
    assert admin_client.get(profile("Anna-1", "tiers")).status_code == 404


def test_overview_shows_statistics_latest_actions_and_chart(admin_client, anna):
    register_event(environment="live", customer="Anna-1", action="point_spend", data={"points": 120})
    html = admin_client.get(profile("Anna-1")).content.decode()
    assert 'data-testid="point-statistics"' in html and ">380<" in html and ">120<" in html
    assert 'data-testid="balance-chart"' in html and 'data-chart="chart-data-balance"' in html
    assert "js/vendor/chart.umd.min.js" in html
    chart = admin_client.get(profile("Anna-1")).context["chart"]
    assert chart.datasets[0]["data"] == [500, 380] and len(chart.labels) == 2
    assert chart.rows()[-1][1:] == [380]
    assert 'data-testid="latest-actions"' in html and "Point spend" in html
    assert 'data-testid="statistic-cards"' in html


def test_overview_tier_progress(admin_client, program):
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=1000)
    enroll("tiered", points=400)
    html = admin_client.get(profile("tiered")).content.decode()
    assert 'data-testid="tier-progress"' in html and "600 more to Silver" in html
    html = admin_client.get(profile("tiered", "tiers")).content.decode()
    assert "Bronze" in html and "Silver (600 to go)" in html


def test_events_tab_filters_by_type_and_transaction(admin_client, anna):
    register_event(environment="live", customer="Anna-1", action="point_spend", data={"points": 10})
    response = admin_client.get(profile("Anna-1", "events"), {"action": "point_spend"})
    assert [e.action for e in response.context["events"]] == ["point_spend"]
    response = admin_client.get(profile("Anna-1", "events"), {"action": "no_such_event"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_events_tab_shows_source_user_and_points_labels(admin_client, cast, anna):
    from events.choices import EventSource

    register_event(
        environment="live",
        customer="Anna-1",
        action="point_spend",
        data={"points": 500},
        source=EventSource.PLATFORM,
        admin_user=cast["support_agent"],
        reason="goodwill",
    )
    html = admin_client.get(profile("Anna-1", "events")).content.decode()
    assert "Platform · support_agent" in html and "goodwill" in html
    assert "POINTS EXHAUSTED" in html  # the 500 added points were all spent


def test_event_detail_shows_every_attribute(admin_client, anna):
    event = register_event(
        environment="live",
        customer="Anna-1",
        action="point_add",
        data={"points": 7, "reason": "bonus", "campaign": "spring"},
    ).event
    response = admin_client.get(profile("Anna-1", "event_detail", event_id=event.pk))
    html = response.content.decode()
    assert response.status_code == 200 and "Campaign" in html and "spring" in html and "bonus" in html
    other = enroll("other-1", points=3)
    foreign = other.events.first()
    assert admin_client.get(profile("Anna-1", "event_detail", event_id=foreign.pk)).status_code == 404


def test_points_history_has_running_balance(admin_client, anna):
    register_event(environment="live", customer="Anna-1", action="point_spend", data={"points": 50})
    register_event(environment="live", customer="Anna-1", action="point_add", data={"points": 25})
    response = admin_client.get(profile("Anna-1", "points"))
    assert [(e.amount, e.spendable_after) for e in response.context["entries"]] == [
        (25, 475),
        (-50, 450),
        (500, 500),
    ]


def test_personal_tab_shows_every_attribute(admin_client, anna):
    from customers.models import CustomField

    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")
    CustomField.objects.create(name="member_no", label="Member number", type="string", read_only=True)
    response = admin_client.get(profile("Anna-1", "personal"))
    form = response.context["form"]
    for name in (
        "first_name",
        "last_name",
        "email",
        "birth_date",
        "gender",
        "country",
        "city",
        "zip",
        "phone",
        "custom_shoe_size",
        "custom_member_no",
        "labels",
        "reason",
    ):
        assert name in form.fields, name
    assert form.fields["custom_member_no"].disabled and not form.fields["custom_shoe_size"].disabled
    assert 'data-testid="read-only-attributes"' in response.content.decode()


@pytest.mark.parametrize("tab", TABS)
def test_tab_query_count_does_not_grow_with_rows(admin_client, program, tab):
    from events.choices import EventSource

    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)

    def queries_for(customer_id, n):
        enroll(customer_id)
        for i in range(n):
            register_event(
                environment="live",
                customer=customer_id,
                action="point_add",
                data={"points": 1 + i},
                source=EventSource.PLATFORM,
                admin_user=None,
            )
            register_event(
                environment="live",
                customer=customer_id,
                action="tier_change",
                data={"structure": "main", "tier": "bronze"},
                source=EventSource.PLATFORM,
            )
        from customers.models import Customer
        from loyalty.audit import log as audit

        customer = Customer.objects.get(customer_id=customer_id)
        for i in range(n):
            audit.record(user=None, action="test", environment="live", customer=customer, reason=str(i))
        admin_client.get(profile(customer_id, tab))  # warm caches (program, accounts, catalog)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(profile(customer_id, tab), {"per_page": n})
        assert response.status_code == 200
        return len(queries)

    assert queries_for("few", 5) == queries_for("lots", 30)


def test_event_detail_with_an_items_attribute(admin_client, anna):
    # A checkout's data has an "items" key; the template must not mistake it for dict.items.
    event = register_event(
        environment="live",
        customer="Anna-1",
        action="point_add",
        data={"points": 1, "items": [{"sku": "A1"}]},
    ).event
    response = admin_client.get(profile("Anna-1", "event_detail", event_id=event.pk))
    assert response.status_code == 200 and "A1" in response.content.decode()


def test_overview_coupon_statistics_count_every_status(admin_client, anna):
    from coupons.pools import import_codes
    from tests.factories import CouponPoolFactory

    pool = CouponPoolFactory()
    import_codes(pool, "OV-1\nOV-2\nOV-3\n")
    for code in ("OV-1", "OV-2"):
        register_event(environment="live", customer="Anna-1", action="coupon_assign", data={"code": code})
    register_event(environment="live", customer="Anna-1", action="coupon_redeem", data={"code": "OV-1"})
    response = admin_client.get(profile("Anna-1"))
    stats = response.context["coupon_stats"]
    assert stats["total"] == 2 and stats["redeemed_percent"] == 50
    assert dict(stats["by_status"]) == {
        "Claimed": 1,
        "Redeemed": 1,
        "Expired": 0,
        "Invalid": 0,
        "Transferred": 0,
    }
    html = response.content.decode()
    assert (
        "Redemption rate" in html
        and "50%" in html
        and "redeemed" not in html.split("coupon-statistics")[1][:200]
    )


def test_overview_says_when_there_are_no_coupons(admin_client, anna):
    html = admin_client.get(profile("Anna-1")).content.decode()
    assert "No coupons yet." in html.split('data-testid="coupon-statistics"')[1]


def test_remove_tier_page_takes_the_customer_out_and_the_tiers_tab_shows_it(admin_client, anna, program):
    program.tiers = True
    program.save()
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=0)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=5000)
    register_event(environment="live", customer="Anna-1", action="tier_change", data={"tier": "gold"})
    html = admin_client.get(profile("Anna-1")).content.decode()
    assert profile("Anna-1", "tier_remove") in html  # offered among the profile's actions
    url = profile("Anna-1", "tier_remove")
    response = admin_client.post(url, {"structure": "main", "reason": "left the club"})
    assert response.status_code == 302
    from loyalty.models import CustomerTier

    assert not CustomerTier.objects.filter(customer__customer_id="Anna-1").exists()
    html = admin_client.get(profile("Anna-1", "tiers")).content.decode()
    assert "Tier remove" in html and "left the club" in html
    # Nothing left to remove: the engine's refusal on the form, nothing stored.
    response = admin_client.post(url, {"structure": "main", "reason": "again"})
    assert response.status_code == 200 and "has no tier in Main" in response.content.decode()
