"""Profile actions per role: allowed roles get the form and can perform it; everyone else gets 403
and no button. Every action needs a reason, registers a platform event with the user and is in
the change log; engine refusals are form errors."""

import pytest

from customers.models import Customer
from events.models import Event
from loyalty.audit.models import ChangeLogEntry
from loyalty.models import Tier, TierStructure
from tests.factories import enroll
from tests.loyalty.helpers import assert_page_access

from .conftest import profile

POINTS = ("administrator", "program_manager", "support_agent", "approver")
STATUS = ("administrator", "program_manager", "support_agent")
BAN = ("administrator",)
MERGE = ("administrator", "program_manager")
TIERS = ("administrator", "program_manager")

ACTIONS = [
    ("manage_points", POINTS, "Manage points"),
    ("add_event", POINTS, "Add action"),
    ("change_expiration", POINTS, None),
    ("suspend", STATUS, "Suspend"),
    ("opt_out", STATUS, "Opt out"),
    ("ban", BAN, "Ban"),
    ("merge", MERGE, "Merge"),
    ("tier_up", TIERS, "Tier up"),
    ("tier_down", TIERS, "Tier down"),
    ("tier_expiration", TIERS, "Change tier expiration"),
]


@pytest.mark.parametrize(("action", "allowed", "button"), ACTIONS)
def test_action_pages_per_role(client, cast, anna, action, allowed, button):
    responses = assert_page_access(client, cast, profile("Anna-1", action), allowed=allowed)
    if button:
        for role, user in cast.items():
            if role == "nobody":
                continue
            client.force_login(user)
            html = client.get(profile("Anna-1")).content.decode()
            assert (f'href="{profile("Anna-1", action)}"' in html) == (role in allowed), (role, action)
    assert responses["administrator"].status_code == 200


@pytest.mark.parametrize(("action", "allowed", "button"), ACTIONS)
def test_refused_roles_cannot_post(client, cast, anna, action, allowed, button):
    refused = [role for role in cast if role not in allowed]
    for role in refused:
        client.force_login(cast[role])
        response = client.post(
            profile("Anna-1", action), {"reason": "try", "operation": "point_add", "points": 5}
        )
        assert response.status_code == 403, role
    assert Event.objects.filter(source="platform").count() == 0
    assert ChangeLogEntry.objects.count() == 0


def login(client, cast, role):
    client.force_login(cast[role])
    return client


def test_add_points_with_reason(client, cast, anna):
    c = login(client, cast, "support_agent")
    response = c.post(
        profile("Anna-1", "manage_points"),
        {"operation": "point_add", "points": 40, "reason": "apology", "expiration_date": "2031-01-31"},
    )
    assert response.status_code == 302 and response["Location"] == profile("Anna-1", "points")
    anna.refresh_from_db()
    assert anna.spendable == 540
    event = Event.objects.get(action="point_add", source="platform")
    assert event.admin_user == cast["support_agent"] and event.reason == "apology"
    entry = ChangeLogEntry.objects.get(action="point_add")
    assert entry.user == cast["support_agent"] and entry.customer == anna and entry.event == event
    assert entry.reason == "apology"
    assert entry.before["balances"]["points"]["spendable"] == 500
    assert entry.after["balances"]["points"]["spendable"] == 540
    history = c.get(profile("Anna-1", "points")).content.decode()
    assert "+40" in history and "540" in history and "apology" in history


def test_reason_is_required(client, cast, anna):
    c = login(client, cast, "support_agent")
    response = c.post(
        profile("Anna-1", "manage_points"), {"operation": "point_add", "points": 40, "reason": "  "}
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Event.objects.filter(source="platform").exists()


def test_sub_and_spend(client, cast, anna):
    c = login(client, cast, "program_manager")
    c.post(profile("Anna-1", "manage_points"), {"operation": "point_sub", "points": 100, "reason": "fix"})
    c.post(profile("Anna-1", "manage_points"), {"operation": "point_spend", "points": 50, "reason": "shop"})
    anna.refresh_from_db()
    assert (anna.spendable, anna.spent) == (350, 50)


def test_engine_refusal_is_a_form_error(client, cast, anna):
    c = login(client, cast, "support_agent")
    response = c.post(
        profile("Anna-1", "manage_points"), {"operation": "point_spend", "points": 5000, "reason": "x"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    anna.refresh_from_db()
    assert anna.spendable == 500 and not ChangeLogEntry.objects.exists()


def test_suspended_customer_cannot_spend_and_unsuspend(client, cast, anna):
    c = login(client, cast, "support_agent")
    assert c.post(profile("Anna-1", "suspend"), {"reason": "fraud check"}).status_code == 302
    anna.refresh_from_db()
    assert anna.status == "suspended"
    html = c.get(profile("Anna-1")).content.decode()
    assert profile("Anna-1", "unsuspend") in html and profile("Anna-1", "suspend") not in html
    response = c.post(
        profile("Anna-1", "manage_points"), {"operation": "point_spend", "points": 5, "reason": "x"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert c.post(profile("Anna-1", "unsuspend"), {"reason": "cleared"}).status_code == 302
    anna.refresh_from_db()
    assert anna.status == "active"
    assert list(ChangeLogEntry.objects.order_by("id").values_list("action", "reason")) == [
        ("suspend", "fraud check"),
        ("unsuspend", "cleared"),
    ]
    assert ChangeLogEntry.objects.get(action="suspend").after["status"] == "suspended"


def test_ban_and_unban(client, cast, anna):
    c = login(client, cast, "administrator")
    c.post(profile("Anna-1", "ban"), {"reason": "terms"})
    anna.refresh_from_db()
    assert anna.status == "banned"
    c.post(profile("Anna-1", "unban"), {"reason": "appeal"})
    anna.refresh_from_db()
    assert anna.status == "active"


def test_opt_out_explains_anonymization_and_removes_from_list(client, cast, anna):
    c = login(client, cast, "support_agent")
    page = c.get(profile("Anna-1", "opt_out")).content.decode()
    assert "anonymizes" in page
    response = c.post(profile("Anna-1", "opt_out"), {"reason": "customer asked"})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    listing = c.get("/customers/")
    assert "Anna-1" not in [x.customer_id for x in listing.context["table"].data.data]
    assert c.get(profile("Anna-1")).status_code == 404
    assert ChangeLogEntry.objects.get(action="opt_out").reason == "customer asked"


def test_merge_reviews_then_merges(client, cast, anna):
    enroll("anna-old", first_name="Anna", email="old@example.com", points=70)
    c = login(client, cast, "program_manager")
    review = c.post(
        profile("Anna-1", "merge"), {"source": "anna-old", "mode": "partial", "reason": "duplicate"}
    )
    assert review.status_code == 200
    html = review.content.decode()
    assert 'data-testid="merge-review"' in html and "stays active" in html
    assert Customer.objects.filter(customer_id="anna-old", anonymized_at__isnull=True).exists()
    done = c.post(
        profile("Anna-1", "merge"),
        {"source": "anna-old", "mode": "partial", "reason": "duplicate", "confirmed": "True"},
    )
    assert done.status_code == 302
    anna.refresh_from_db()
    assert anna.spendable == 570
    listed = [row.customer_id for row in c.get("/customers/").context["table"].data.data]
    assert "Anna-1" in listed and "anna-old" not in listed  # the merged profile is anonymized
    assert ChangeLogEntry.objects.get(action="merge").reason == "duplicate"


def test_merge_refuses_unknown_and_self(client, cast, anna):
    c = login(client, cast, "administrator")
    response = c.post(profile("Anna-1", "merge"), {"source": "ghost", "mode": "full", "reason": "x"})
    assert "No customer with this ID" in response.content.decode()
    response = c.post(profile("Anna-1", "merge"), {"source": "Anna-1", "mode": "full", "reason": "x"})
    assert "cannot be merged into itself" in response.content.decode()


@pytest.fixture
def tiers(program):
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=1000)
    Tier.objects.create(structure=structure, code="gold", name="Gold", threshold=5000)
    return structure


def test_tier_up_down_and_expiration(client, cast, tiers):
    enroll("tiered", points=10)
    c = login(client, cast, "program_manager")
    assert c.post(profile("tiered", "tier_up"), {"structure": "main", "reason": "vip"}).status_code == 302
    assert Customer.objects.get(customer_id="tiered").tier.code == "silver"
    response = c.post(profile("tiered", "tier_expiration"), {"structure": "main", "reason": "x"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert (
        c.post(
            profile("tiered", "tier_expiration"),
            {"structure": "main", "expiration_date": "2032-01-01", "reason": "x"},
        ).status_code
        == 302
    )
    html = c.get(profile("tiered", "tiers")).content.decode()
    assert "2032-01-01" in html and "Tier up" in html
    assert c.post(profile("tiered", "tier_down"), {"structure": "main", "reason": "oops"}).status_code == 302
    assert Customer.objects.get(customer_id="tiered").tier.code == "bronze"


def test_change_expiration_of_lots(client, cast, anna):
    from loyalty.models import PointLot

    lot = PointLot.objects.get(customer=anna)
    c = login(client, cast, "support_agent")
    page = c.get(profile("Anna-1", "change_expiration")).content.decode()
    assert f"#{lot.pk} · Point add · 500 of 500 Points left" in page
    response = c.post(
        profile("Anna-1", "change_expiration"),
        {"lots": [lot.pk], "expiration_date": "2030-06-30", "reason": "extend"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lot.refresh_from_db()
    assert lot.expires_at.date().isoformat() == "2030-06-30"
    assert Event.objects.filter(action="change_expiration", source="platform", reason="extend").exists()


def test_add_event_builds_the_form_from_the_definition(client, cast, anna):
    from events.models import EventAttribute, EventDefinition

    definition = EventDefinition.objects.create(action="store_visit", label="Store visit", points=15)
    EventAttribute.objects.create(definition=definition, name="store", type="string", required=True)
    EventAttribute.objects.create(definition=definition, name="minutes", type="integer")
    c = login(client, cast, "support_agent")
    picker = c.get(profile("Anna-1", "add_event"))
    actions = dict(picker.context["actions"])
    assert "store_visit" in actions and "point_add" in actions and "point_expire" not in actions
    form_page = c.get(profile("Anna-1", "add_event"), {"action": "store_visit"})
    assert {"attr_store", "attr_minutes", "reason"} <= set(form_page.context["form"].fields)
    missing = c.post(
        profile("Anna-1", "add_event") + "?action=store_visit", {"action": "store_visit", "reason": "x"}
    )
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    done = c.post(
        profile("Anna-1", "add_event"),
        {"action": "store_visit", "attr_store": "Berlin", "attr_minutes": "12", "reason": "walk-in"},
    )
    assert done.status_code == 302
    event = Event.objects.get(action="store_visit")
    assert (
        event.data["store"] == "Berlin"
        and event.data["minutes"] == 12
        and event.admin_user == cast["support_agent"]
    )
    anna.refresh_from_db()
    assert anna.spendable == 515


def test_internal_events_cannot_be_added(client, cast, anna):
    c = login(client, cast, "administrator")
    response = c.post(
        profile("Anna-1", "add_event"), {"action": "point_expire", "attr_points": 5, "reason": "x"}
    )
    # The console may not register an internal action at all (events.permissions): 403.
    assert response.status_code == 403
    assert not Event.objects.filter(action="point_expire").exists()


def test_profile_edit_registers_only_changed_attributes(client, cast, anna):
    from customers.models import CustomField, Label

    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number")
    Label.objects.create(name="vip")
    c = login(client, cast, "support_agent")
    form = c.get(profile("Anna-1", "personal")).context["form"]
    data = {
        name: ("" if value is None else value) for name, value in form.initial.items() if name != "labels"
    }
    data.update(
        {
            "city": "Berlin",
            "custom_shoe_size": "41",
            "labels": [Label.objects.get(name="vip").pk],
            "reason": "phone call",
        }
    )
    response = c.post(profile("Anna-1", "personal"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = Event.objects.get(action="profile")
    assert event.data == {"city": "Berlin", "shoe_size": 41, "labels": ["vip"]}
    anna.refresh_from_db()
    assert anna.city == "Berlin" and anna.custom["shoe_size"] == 41
    assert [label.name for label in anna.labels.all()] == ["vip"]
    entry = ChangeLogEntry.objects.get(action="profile")
    assert entry.before == {"city": "", "shoe_size": None, "labels": []}
    # Removing the label again
    data["labels"] = []
    data["city"] = "Berlin"
    data["custom_shoe_size"] = "41"
    c.post(profile("Anna-1", "personal"), data)
    assert Event.objects.filter(action="profile").order_by("-id").first().data == {"labels": []}
    assert not anna.labels.exists()


def test_profile_edit_refused_for_analyst(client, cast, anna):
    c = login(client, cast, "analyst")
    page = c.get(profile("Anna-1", "personal"))
    assert page.status_code == 200 and all(f.disabled for f in page.context["form"].fields.values())
    assert c.post(profile("Anna-1", "personal"), {"city": "X", "reason": "x"}).status_code == 403
    assert not Event.objects.filter(action="profile").exists()
