"""Who may register which action from the console: one table, asked by every console path.

The permission belongs to the action, not to the page: a support agent who may not
ban on the Ban page may not ban through "Add event", a bulk action, an import or an approval
either. Every console path that registers an event asks `may_register(user, action)`; the
Add-event form offers `registrable_actions(user)` only; `loyalty.audit.changes.register_change`
(which every console registration goes through) refuses with PermissionDenied as a last line.

ACTION_PERMISSIONS maps every built-in action to the permission (`loyalty.<codename>`, see
loyalty/roles.py) that may register it from the console, or to None: the console may not register
it at all (engine-internal actions such as point_expire or checkout_item). Custom events and
anything not in the table need CUSTOM_EVENT_PERMISSION; a custom definition that extends a
built-in action keeps the built-in's permission (its effects are the built-in's).

The API is not governed by this table: an API key's scopes decide there (loyalty/api/auth.py).
"""

from __future__ import annotations

from . import catalog
from .definitions import BUILTIN_ACTIONS

CUSTOM_EVENT_PERMISSION = "loyalty.add_customer_events"

STATUS = "loyalty.manage_customer_status"
POINTS = "loyalty.manage_points"
TIERS = "loyalty.manage_customer_tiers"
TRANSACTIONS = "loyalty.manage_transactions"
COUPONS = "loyalty.manage_coupons"

ACTION_PERMISSIONS: dict[str, str | None] = {
    # Lifecycle
    "opt_in": STATUS,
    "opt_out": STATUS,
    "profile": "loyalty.change_customer_profile",
    "login": CUSTOM_EVENT_PERMISSION,
    "daily_login": None,  # internal: registered by login once per calendar day
    "verify": STATUS,
    "suspend": STATUS,
    "unsuspend": STATUS,
    "ban": "loyalty.ban_customer",
    "unban": "loyalty.ban_customer",
    "merge": "loyalty.merge_customers",
    # Points
    "point_add": POINTS,
    "point_sub": POINTS,
    "point_spend": POINTS,
    "point_unspend": POINTS,
    "reserve_points": POINTS,
    "release_points": POINTS,
    "change_expiration": POINTS,
    "point_expire": None,
    "point_activate": None,
    # Tiers
    "tier_up": TIERS,
    "tier_down": TIERS,
    "tier_change": TIERS,
    "tier_remove": TIERS,
    "tier_expiration_change": TIERS,
    "tier_review": None,  # the scheduled tier review (internal)
    "campaign_bonus": None,  # internal: a campaign workflow's Campaign bonus node
    # Commerce
    "checkout": TRANSACTIONS,
    "checkout_update": TRANSACTIONS,
    "checkout_accept": TRANSACTIONS,
    "checkout_reject": TRANSACTIONS,
    "refund": TRANSACTIONS,
    "partial_refund": TRANSACTIONS,
    "refund_item": TRANSACTIONS,
    "checkout_claim": TRANSACTIONS,
    "point_unburn": TRANSACTIONS,
    "checkout_item": None,
    "checkout_update_item": None,
    "coupon_assign": COUPONS,
    "coupon_redeem": COUPONS,
    "coupon_unredeem": COUPONS,
    "coupon_invalidate": COUPONS,
    "coupon_unassign": COUPONS,
    "coupon_transfer": COUPONS,
    "coupon_expiration_change": COUPONS,
    "reward": COUPONS,
    "reward_revoke": COUPONS,
    "reward_bid": None,  # the Display API's .../bid only (it locks the auction first)
    "reward_bid_release": None,  # internal: an outbid or void bid's points given back
    # Customer lists (segments.lists): manual membership, as the list pages
    "customer_list_add": "loyalty.change_customer_profile",
    "customer_list_remove": "loyalty.change_customer_profile",
    # Talon.One profile features: loyalty cards and referral codes as their console pages
    "card_register": STATUS,
    "card_unregister": STATUS,
    "card_transfer": STATUS,
    "card_status_change": STATUS,
    "referral_code_create": COUPONS,
    "referral_redeem": COUPONS,
    "referral_reward": None,  # internal: the advocate's reward, registered after the friend's event
    "referral_bonus": POINTS,  # points for the advocate (workflows' Referral bonus), as point_add
    "achievement_completed": None,  # internal: a follow-up of the completing event
}

_missing = set(BUILTIN_ACTIONS) - set(ACTION_PERMISSIONS)
_unknown = set(ACTION_PERMISSIONS) - set(BUILTIN_ACTIONS)
if _missing or _unknown:  # pragma: no cover - a programming error caught at import
    raise RuntimeError(
        f"events.permissions.ACTION_PERMISSIONS is out of step with the built-in actions: "
        f"missing {sorted(_missing)}, unknown {sorted(_unknown)}"
    )
for _action, _permission in ACTION_PERMISSIONS.items():
    if (_permission is None) != BUILTIN_ACTIONS[_action].internal:  # pragma: no cover
        raise RuntimeError(f"{_action}: the console may register exactly the non-internal actions")


def required_permission(action: str) -> str | None:
    """The permission that may register `action` from the console; None: the console may not.

    Built-in actions come from ACTION_PERMISSIONS; an active custom event needs
    CUSTOM_EVENT_PERMISSION; an unknown action (no definition) is None."""
    if action in ACTION_PERMISSIONS:
        return ACTION_PERMISSIONS[action]
    custom = catalog.custom_specs().get(action)
    if custom is not None and not custom.builtin_extension:
        return CUSTOM_EVENT_PERMISSION
    return None


def may_register(user, action: str) -> bool:
    """True when the signed-in console `user` may register `action` (on any console path)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    permission = required_permission(action)
    return permission is not None and user.has_perm(permission)


def registrable_actions(user) -> set[str]:
    """Every action `user` may register from the console (built-in and custom)."""
    actions = set(ACTION_PERMISSIONS) | set(catalog.custom_specs())
    return {action for action in actions if may_register(user, action)}
