"""Demo segments and customer lists for `seed_demo`: a handful of realistic segments
over tiers, purchases, event history, birthdays and balances, built once; two lists, one with
members added through `customer_list_add` events as a support agent would."""

from __future__ import annotations

from customers.models import Customer
from events.engine import register_event
from loyalty.errors import EngineError
from segments.building import rebuild_all
from segments.models import CustomerList, Segment, Status


def _leaf(field, operator, value=""):
    return {"field": field, "operator": operator, "value": value}


def _all(*conditions):
    return {"match": "all", "conditions": list(conditions)}


DEMO_SEGMENTS = [
    ("Gold members", "Customers in the Gold status tier.", _all(_leaf("tier.status", "eq", "gold"))),
    (
        "Bought in the last 30 days",
        "At least one counted purchase in the last 30 days.",
        _all(_leaf("purchase.last_30days.count", "ge", "1")),
    ),
    (
        "Lapsed spenders",
        "Spent 200 EUR or more overall, but no checkout for 90 days.",
        _all(_leaf("purchase_total", "ge", "200"), _leaf("last_event.checkout", "days_ago_gt", "90")),
    ),
    ("Birthday this month", "Birth date in the current month.", _all(_leaf("birth_date", "this_month"))),
    (
        "DACH members with points",
        "In Germany or Austria, with spendable points.",
        {
            "match": "all",
            "conditions": [
                {"match": "any", "conditions": [_leaf("country", "eq", "DE"), _leaf("country", "eq", "AT")]},
                {"match": "all", "conditions": [_leaf("balance.points.spendable", "gt", "0")]},
            ],
        },
    ),
]


def seed_segments(admin) -> dict:
    """Create the demo segments and lists (idempotent by name) and build the segments."""
    for name, description, conditions in DEMO_SEGMENTS:
        Segment.objects.update_or_create(
            name=name, defaults={"description": description, "conditions": conditions, "created_by": admin}
        )
    invitees, _ = CustomerList.objects.get_or_create(
        name="Store opening invitees",
        defaults={"description": "Invited to the flagship store opening.", "created_by": admin},
    )
    CustomerList.objects.get_or_create(
        name="App beta testers",
        defaults={
            "description": "Closed beta of the new app (ended).",
            "status": Status.INACTIVE,
            "created_by": admin,
        },
    )
    added = 0
    live = Customer.objects.filter(environment="live", anonymized_at__isnull=True, status="active").order_by(
        "id"
    )
    for customer in live[:8]:
        try:
            register_event(
                environment="live",
                customer=customer,
                action="customer_list_add",
                data={"list": invitees.pk},
                source="platform",
                admin_user=admin,
                reason="demo: store opening",
            )
            added += 1
        except EngineError:
            continue  # already on the list (a second run)
    return {"segments": rebuild_all(), "list_members": added}
