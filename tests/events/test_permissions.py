"""Issue 14 §1: who may register which action from the console is one table
(events.permissions.ACTION_PERMISSIONS), and every console path obeys it.

The matrix test walks every built-in action (and a custom event) × every role × every console path
that can register it (its own action page if it has one, Add event, the approval queue) and
compares what happens with the table read against loyalty.roles.ROLES, not with may_register.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from coupons.models import CouponPool, Reward
from coupons.pools import import_codes
from customers.models import Customer
from events import permissions
from events.definitions import BUILTIN_ACTIONS
from events.models import Event, EventDefinition
from loyalty.audit.models import ChangeRequest
from loyalty.ledger.accounts import default_account
from loyalty.models import PointLot, Tier, TierStructure
from loyalty.roles import ROLES
from tests.conftest import CAST
from tests.factories import enroll, register
from tests.transactions.helpers import ITEM, add_points
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

ROLE_NAMES = list(CAST)


def role_may(role: str, permission: str | None) -> bool:
    """The table's answer, read from loyalty.roles (superusers are not in the cast)."""
    group = CAST[role]
    if permission is None or group is None:
        return False
    return permission.removeprefix("loyalty.") in ROLES[group]


@pytest.fixture
def world(program):
    """Anna with points, a lot, a coupon, a pending transaction, a reward; Bob to merge or transfer to;
    a tier structure; a custom event."""
    program.checkout_accept = True
    program.save()
    structure = TierStructure.objects.create(code="main", name="Main")
    Tier.objects.create(structure=structure, code="bronze", name="Bronze", threshold=0)
    Tier.objects.create(structure=structure, code="silver", name="Silver", threshold=1000)
    pool = CouponPool.objects.create(name="Ten off", type="amount", value=10)
    import_codes(pool, "AAA-1\nBBB-2\nCCC-3\n")
    reward = Reward.objects.create(
        name="Mug", points=10, account=default_account(), gives="coupon", pool=pool
    )
    enroll("Anna-1", email="anna@example.com")
    enroll("Bob-1", email="bob@example.com")
    add_points(500)
    register("coupon_assign", data={"code": "AAA-1"})
    register("checkout", data={"transaction_id": "T-1", "total": 100, "items": [ITEM]})
    EventDefinition.objects.create(action="visit_store", label="Store visit", points=0)
    return {"reward": reward, "tx": Transaction.objects.get(transaction_id="T-1")}


def lot_id() -> int:
    return (
        PointLot.objects.filter(customer__customer_id="Anna-1").order_by("id").values_list("pk", flat=True)[0]
    )


def valid_data(action: str, world) -> dict:
    """Attribute values that make `action` valid on Anna, as the Add-event form takes them."""
    return {
        "opt_in": {},
        "profile": {"attr_first_name": "Annie"},
        "merge": {"attr_source": "Bob-1"},
        "point_add": {"attr_points": 5},
        "point_sub": {"attr_points": 5},
        "point_spend": {"attr_points": 5},
        "point_unspend": {"attr_points": 5},
        "reserve_points": {"attr_points": 5},
        "release_points": {"attr_points": 5},
        "change_expiration": {"attr_lots": str(lot_id()), "attr_expiration_date": "2031-01-01T00:00"},
        "tier_up": {"attr_structure": "main"},
        "tier_down": {"attr_structure": "main"},
        "tier_change": {"attr_structure": "main", "attr_tier": "silver"},
        "tier_remove": {"attr_structure": "main"},
        "tier_expiration_change": {"attr_structure": "main", "attr_expiration_date": "2031-01-01T00:00"},
        "checkout": {"attr_transaction_id": "T-9", "attr_total": "10"},
        "checkout_update": {"attr_transaction_id": "T-1", "attr_total": "90"},
        "checkout_accept": {"attr_transaction_id": "T-1"},
        "checkout_reject": {"attr_transaction_id": "T-1"},
        "refund": {"attr_transaction_id": "T-1"},
        "partial_refund": {"attr_transaction_id": "T-1", "attr_amount": "10"},
        "refund_item": {"attr_transaction_id": "T-1", "attr_product_id": ITEM["product_id"]},
        "checkout_claim": {"attr_transaction_id": "T-1"},
        "point_unburn": {"attr_transaction_id": "T-1", "attr_points": 1},
        "coupon_assign": {"attr_code": "BBB-2"},
        "coupon_redeem": {"attr_code": "AAA-1"},
        "coupon_unredeem": {"attr_code": "AAA-1"},
        "coupon_invalidate": {"attr_code": "AAA-1"},
        "coupon_unassign": {"attr_code": "AAA-1"},
        "coupon_transfer": {"attr_code": "AAA-1", "attr_to": "Bob-1"},
        "coupon_expiration_change": {"attr_code": "AAA-1", "attr_expiration_date": "2031-01-01T00:00"},
        "reward": {"attr_reward": str(world["reward"].pk)},
        "reward_revoke": {"attr_event": str(claim_event_id(world)) if action == "reward_revoke" else ""},
        "card_status_change": {"attr_card": "CARD-1", "attr_status": "inactive"},
        "referral_bonus": {"attr_points": 5, "attr_friend": "Bob-1"},
    }.get(action, {})


def claim_event_id(world) -> int:
    """The reward event of a claim of the world's reward by Anna (what reward_revoke names), once."""
    if "claim" not in world:
        world["claim"] = register("reward", data={"reward": world["reward"].pk}).event.pk
    return world["claim"]


def prepare(action: str) -> None:
    """Bring Anna into the state `action` applies to."""
    from tests.factories import console

    setup = {
        "unsuspend": [("suspend", {})],
        "unban": [("ban", {})],
        "refund": [("checkout_accept", {"transaction_id": "T-1"})],
        "partial_refund": [("checkout_accept", {"transaction_id": "T-1"})],
        "refund_item": [("checkout_accept", {"transaction_id": "T-1"})],
        "point_unspend": [("point_spend", {"points": 5})],
        "release_points": [("reserve_points", {"points": 5})],
        "tier_down": [("tier_change", {"structure": "main", "tier": "silver"})],
        "tier_remove": [("tier_change", {"structure": "main", "tier": "silver"})],
        "coupon_unredeem": [("coupon_redeem", {"code": "AAA-1"})],
    }
    for setup_action, data in setup.get(action, []):
        console(setup_action, data=data)


# Actions whose precondition the world does not meet: a valid form gets the engine's refusal.
REFUSED_IN_THIS_WORLD = {
    "checkout_claim",
    "point_unburn",
    # their modules are off (or their objects missing) in this world: the engine's refusal shows
    "customer_list_add",
    "customer_list_remove",
    "card_register",
    "card_unregister",
    "card_transfer",
    "referral_code_create",
    "referral_redeem",
    "card_status_change",
    "referral_bonus",
}


def dedicated_page(action: str, world) -> tuple[str, dict]:
    """(URL, POST data) of the action's own console page, if it has one."""
    ref = {"ref": "Anna-1"}
    coupon = {"ref": "Anna-1", "code": "AAA-1"}
    tx = [world["tx"].pk]
    pages = {
        "suspend": (reverse("customers:customer_suspend", kwargs=ref), {}),
        "unsuspend": (reverse("customers:customer_unsuspend", kwargs=ref), {}),
        "ban": (reverse("customers:customer_ban", kwargs=ref), {}),
        "unban": (reverse("customers:customer_unban", kwargs=ref), {}),
        "opt_out": (reverse("customers:customer_opt_out", kwargs=ref), {}),
        "merge": (reverse("customers:customer_merge", kwargs=ref), {"source": "Bob-1", "mode": "partial"}),
        "point_add": (
            reverse("customers:customer_manage_points", kwargs=ref),
            {"operation": "point_add", "points": 5},
        ),
        "point_sub": (
            reverse("customers:customer_manage_points", kwargs=ref),
            {"operation": "point_sub", "points": 5},
        ),
        "point_spend": (
            reverse("customers:customer_manage_points", kwargs=ref),
            {"operation": "point_spend", "points": 5},
        ),
        "change_expiration": (
            reverse("customers:customer_change_expiration", kwargs=ref),
            {"lots": [lot_id()], "expiration_date": "2031-01-01"},
        ),
        "tier_up": (reverse("customers:customer_tier_up", kwargs=ref), {"structure": "main"}),
        "tier_down": (reverse("customers:customer_tier_down", kwargs=ref), {"structure": "main"}),
        "tier_remove": (reverse("customers:customer_tier_remove", kwargs=ref), {"structure": "main"}),
        "tier_expiration_change": (
            reverse("customers:customer_tier_expiration", kwargs=ref),
            {"structure": "main", "expiration_date": "2031-01-01"},
        ),
        "profile": (
            reverse("customers:customer_personal", kwargs=ref),
            {"first_name": "Annie", "email": "anna@example.com"},
        ),
        "checkout_accept": (reverse("transactions:transaction_accept", args=tx), {}),
        "checkout_reject": (reverse("transactions:transaction_reject", args=tx), {}),
        "refund": (reverse("transactions:transaction_refund", args=tx), {}),
        "partial_refund": (reverse("transactions:transaction_partial_refund", args=tx), {"amount": "10"}),
        "coupon_redeem": (reverse("coupons:coupon_redeem", kwargs=coupon), {}),
        "coupon_invalidate": (reverse("coupons:coupon_invalidate", kwargs=coupon), {}),
        "coupon_unassign": (reverse("coupons:coupon_unassign", kwargs=coupon), {}),
        "coupon_transfer": (reverse("coupons:coupon_transfer", kwargs=coupon), {"to": "Bob-1"}),
        "coupon_expiration_change": (
            reverse("coupons:coupon_expiration", kwargs=coupon),
            {"expiration_date": "2031-01-01"},
        ),
        "reward": (
            reverse("coupons:customer_claim_reward", kwargs=ref),
            {"reward": world["reward"].pk},
        ),
    }
    assert set(pages) == set(PAGE_ACTIONS)
    return pages[action]


ALL_ACTIONS = sorted(BUILTIN_ACTIONS) + ["visit_store"]
# Actions with a console page of their own (dedicated_page); every action also has Add event.
PAGE_ACTIONS = sorted(
    """suspend unsuspend ban unban opt_out merge point_add point_sub point_spend change_expiration
    tier_up tier_down tier_remove tier_expiration_change profile checkout_accept checkout_reject refund
    partial_refund coupon_redeem coupon_invalidate coupon_unassign coupon_transfer
    coupon_expiration_change reward""".split()
)


def table_permission(action: str) -> str | None:
    if action == "visit_store":
        return permissions.CUSTOM_EVENT_PERMISSION
    return permissions.ACTION_PERMISSIONS[action]


def errors(response) -> list[str]:
    import re

    return re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', response.content.decode(), re.S)


def registered(action: str) -> int:
    return Event.objects.filter(action=action, source="platform").count()


def test_the_table_covers_every_builtin_action_and_internal_ones_are_closed():
    assert set(permissions.ACTION_PERMISSIONS) == set(BUILTIN_ACTIONS)
    for action, spec in BUILTIN_ACTIONS.items():
        assert (permissions.ACTION_PERMISSIONS[action] is None) == spec.internal, action
    # The reported escalation: neither agent nor approver may ban, merge, change tiers, refund,
    # redeem coupons or opt out through any path.
    for role in ("support_agent", "approver"):
        for action in ("ban", "merge", "tier_change"):
            assert not role_may(role, table_permission(action)), (role, action)
    assert not role_may("approver", table_permission("refund"))
    assert not role_may("approver", table_permission("coupon_redeem"))
    assert not role_may("approver", table_permission("opt_out"))


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_add_event_path_for_every_role(client, cast, world, action):
    """Add event: the chooser offers the action, its form opens, and a POST registers it exactly for
    roles holding both the page permission and the action's permission; others get 403."""
    url = reverse("customers:customer_add_event", kwargs={"ref": "Anna-1"})
    for role in ROLE_NAMES:
        allowed = role_may(role, permissions.CUSTOM_EVENT_PERMISSION) and role_may(
            role, table_permission(action)
        )
        client.force_login(cast[role])
        page = client.get(url)
        if not role_may(role, permissions.CUSTOM_EVENT_PERMISSION):
            assert page.status_code == 403, role
        else:
            offered = f'<option value="{action}"' in page.content.decode()
            assert offered == allowed, (role, action)
        chosen = client.get(url, {"action": action})
        assert (chosen.status_code == 200) == allowed, (role, action, chosen.status_code)
        if not allowed:
            assert chosen.status_code in (403, 200) and (
                chosen.status_code == 403 or f'name="action" value="{action}"' not in chosen.content.decode()
            )
            before = registered(action)
            response = client.post(url, {"action": action, "reason": "try", **valid_data(action, world)})
            assert response.status_code == 403, (role, action, response.status_code)
            assert registered(action) == before, (role, action)
            assert not ChangeRequest.objects.filter(action=action).exists()


@pytest.mark.parametrize("action", PAGE_ACTIONS)
def test_dedicated_pages_for_every_role(client, cast, world, action):
    url, data = dedicated_page(action, world)
    for role in ROLE_NAMES:
        allowed = role_may(role, table_permission(action))
        client.force_login(cast[role])
        if action == "profile":
            # The Personal information tab opens for every console user, read-only without the right.
            html = client.get(url).content.decode()
            assert ('class="primary">Save</button>' in html) == allowed, (role, action)
        else:
            assert (client.get(url).status_code == 200) == allowed, (role, action)
        if not allowed:
            before = registered(action)
            response = client.post(url, {"reason": "try", **data})
            assert response.status_code == 403, (role, action, response.status_code)
            assert registered(action) == before


@pytest.mark.parametrize("action", PAGE_ACTIONS)
def test_dedicated_pages_register_for_the_allowed_roles(client, cast, world, action):
    url, data = dedicated_page(action, world)
    role = next(
        (r for r in ROLE_NAMES if role_may(r, table_permission(action)) and r != "administrator"),
        "administrator",
    )
    prepare(action)
    before = registered(action)
    client.force_login(cast[role])
    response = client.post(url, {"reason": "by the table", **data})
    if action == "merge":  # the merge page reviews first, then confirms
        response = client.post(url, {"reason": "by the table", "confirmed": "True", **data})
    assert response.status_code == 302, (action, role, errors(response))
    assert registered(action) == before + 1, action


@pytest.mark.parametrize(
    "action", [a for a in ALL_ACTIONS if table_permission(a) is not None and a not in ("opt_in",)]
)
def test_every_offered_action_renders_and_validates(admin_client, world, action):
    """Every action the Add-event form offers renders, and a valid POST registers it (no 500)."""
    url = reverse("customers:customer_add_event", kwargs={"ref": "Anna-1"})
    page = admin_client.get(url, {"action": action})
    assert page.status_code == 200
    assert f'name="action" value="{action}"' in page.content.decode()
    prepare(action)
    before = registered(action)
    response = admin_client.post(url, {"action": action, "reason": "ok", **valid_data(action, world)})
    if action in REFUSED_IN_THIS_WORLD:
        assert response.status_code == 200 and errors(response), action
        return
    assert response.status_code == 302, (action, errors(response))
    assert registered(action) == before + 1


def test_change_expiration_on_add_event_is_no_longer_a_500(admin_client, world):
    url = reverse("customers:customer_add_event", kwargs={"ref": "Anna-1"})
    page = admin_client.get(url, {"action": "change_expiration"})
    assert page.status_code == 200 and "comma-separated" in page.content.decode()


def test_agent_ban_through_add_event_is_refused(client, cast, world):
    """The reported escalation, exactly."""
    url = reverse("customers:customer_add_event", kwargs={"ref": "Anna-1"})
    for role in ("support_agent", "approver"):
        client.force_login(cast[role])
        for action in ("ban", "merge", "tier_change", "refund", "coupon_redeem", "opt_out"):
            if role == "support_agent" and action in ("refund", "coupon_redeem", "opt_out"):
                continue  # an agent holds these (manage_transactions, manage_coupons, status)
            response = client.post(url, {"action": action, "reason": "x", **valid_data(action, world)})
            assert response.status_code == 403, (role, action)
    assert Customer.objects.get(customer_id="Anna-1").status == "active"
    assert not Event.objects.filter(source="platform").exists()


def test_approval_queue_rechecks_the_requester(client, cast, world, program):
    """A change request is registered as its requester: one whose role lost the action is refused."""
    from django.contrib.auth.models import Group

    from loyalty.audit import changes

    program.content_approval = True
    program.save()
    agent = cast["support_agent"]
    outcome = changes.submit_change(
        user=agent,
        customer=Customer.objects.get(customer_id="Anna-1"),
        action="point_add",
        data={"points": 5},
        reason="r",
    )
    assert outcome.queued
    agent.groups.set([Group.objects.get(name="analyst")])
    agent = type(agent).objects.get(pk=agent.pk)  # drop the permission cache
    client.force_login(cast["approver"])
    response = client.post(reverse("audit:request_accept", args=[outcome.request.pk]), {"reason": "ok"})
    assert response.status_code == 200 and "may no longer register" in response.content.decode()
    assert registered("point_add") == 0


def test_register_change_refuses_a_forbidden_action_whatever_the_caller(cast, world):
    from django.core.exceptions import PermissionDenied

    from loyalty.audit.changes import register_change

    with pytest.raises(PermissionDenied):
        register_change(
            user=cast["support_agent"],
            customer=Customer.objects.get(customer_id="Anna-1"),
            action="ban",
            reason="x",
        )
    assert registered("ban") == 0


def test_registrable_actions_per_role(cast, world):
    agent = permissions.registrable_actions(cast["support_agent"])
    assert "ban" not in agent and "merge" not in agent and "point_add" in agent
    assert "point_expire" not in permissions.registrable_actions(cast["administrator"])
    assert permissions.registrable_actions(cast["nobody"]) == set()
    assert "visit_store" in agent
