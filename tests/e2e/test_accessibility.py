"""Issue 16 §7 quality bar: axe-core (vendored from the npm registry: static/js/vendor/axe.min.js)
runs in Chromium on every console page type; any serious or critical violation fails the test.
The same walk saves the user-guide screenshots at desktop width and at 390 px (docs/user-guide/img/),
and checks that no page overflows horizontally at 390 px."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coupons.models import CouponPool
from coupons.pools import import_codes
from customers.models import CustomField
from events.engine import register_event
from events.models import Event
from loyalty.audit.changes import register_change
from loyalty.models import Tier, TierStructure
from tests.e2e.helpers import ensure_user, screenshot
from tests.transactions.helpers import item

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def build_world() -> dict:
    admin = ensure_user("administrator", "administrator")
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=0)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=100)
    CustomField.objects.create(name="shoe_size", label="Shoe size (EU)", type="number")
    register_event(
        environment="live",
        customer="anna-1",
        action="opt_in",
        data={"first_name": "Anna", "last_name": "Smith", "email": "anna.smith@example.com", "shoe_size": 38},
    )
    register_event(environment="live", customer="anna-1", action="point_add", data={"points": 12345})
    register_event(environment="live", customer="anna-1", action="point_spend", data={"points": 2345})
    register_event(
        environment="live",
        customer="anna-1",
        action="checkout",
        data={"transaction_id": "T-1", "total": 1234.5, "items": [item("P-1", 1000), item("P-2", 234.5)]},
    )
    customer = register_event(environment="live", customer="anna-1", action="profile", data={}).customer
    register_change(
        user=admin,
        customer=customer,
        action="profile",
        data={"first_name": "Anne"},
        reason="typo",
        before={"first_name": "Anna"},
        after={"first_name": "Anne"},
    )
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "AAA-1\nBBB-2\n")
    register_event(environment="live", customer="anna-1", action="coupon_assign", data={"code": "AAA-1"})
    checkout = Event.objects.get(action="checkout")
    return {"checkout": checkout.pk, "transaction": checkout.transaction_id}


def page_types(world) -> dict[str, str]:
    """name -> URL: one page of every kind the console has."""
    ref = {"ref": "anna-1"}
    return {
        "dashboard": reverse("home"),
        "customer-list": reverse("customers:customer_list") + "?q=anna",
        "customer-overview": reverse("customers:customer_overview", kwargs=ref),
        "customer-personal": reverse("customers:customer_personal", kwargs=ref),
        "customer-events": reverse("customers:customer_events", kwargs=ref),
        "checkout-event-details": reverse(
            "customers:customer_event_detail", kwargs={**ref, "event_id": world["checkout"]}
        ),
        "customer-points": reverse("customers:customer_points", kwargs=ref),
        "customer-tiers": reverse("customers:customer_tiers", kwargs=ref),
        "customer-changes": reverse("customers:customer_changes", kwargs=ref),
        "customer-coupons": reverse("coupons:customer_coupons", kwargs=ref),
        "customer-transactions": reverse("transactions:customer_transactions", kwargs=ref),
        "manage-points": reverse("customers:customer_manage_points", kwargs=ref),
        "create-customer": reverse("customers:customer_add"),
        "transactions": reverse("transactions:transaction_list"),
        "coupon-pools": reverse("coupons:pool_list"),
        "rewards": reverse("coupons:reward_list"),
        "event-definitions": reverse("events:definition_list"),
        "event-definition-form": reverse("events:definition_add"),
        "settings": reverse("settings:program"),
        "accounts": reverse("settings:account_list"),
        "custom-field-form": reverse("customers:custom_field_add"),
        "labels": reverse("customers:label_list"),
        "change-log": reverse("audit:change_list"),
        "api-keys": reverse("api_keys:api_key_list"),
    }


def serious_violations(page) -> list[str]:
    # Served like every console script (static/, 'self' under the Content-Security-Policy).
    page.add_script_tag(url=page.live_url("/static/js/vendor/axe.min.js"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' [' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ') + ']')"
    )
    return list(result)


def overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.django_db(transaction=True)
def test_every_page_type_passes_axe_and_fits_390px(console_page):
    world = build_world()
    page = console_page("administrator")
    problems = []
    for name, url in page_types(world).items():
        for label, size in (("desktop", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(size)
            page.goto(page.live_url(url))
            assert page.locator("main").count() == 1, (name, page.url)
            if label == "desktop":
                problems += [f"{name}: {v}" for v in serious_violations(page)]
            else:
                extra = overflow(page)
                if extra > 0:
                    problems.append(f"{name}: {extra}px horizontal overflow at 390px")
            screenshot(page, f"{name}-{label}")
    assert problems == [], "\n".join(problems)
