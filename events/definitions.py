"""The catalog of built-in actions: their attributes, types, required flags and whether they are
internal (emitted only by the engine) or console-only. Custom events come from EventDefinition.

Attribute types: string, number, integer, boolean, date, datetime, list, object (events.choices).
Data may carry further attributes than those listed; listed ones are validated and coerced.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    required: bool = False
    help: str = ""
    # Passed to the handler but never stored on the event (passwords of the Display API opt-in).
    secret: bool = False


@dataclass(frozen=True)
class ActionSpec:
    action: str
    label: str
    attributes: tuple[Attr, ...] = field(default_factory=tuple)
    internal: bool = False  # emitted by the engine only (point_expire, checkout_item, ...)
    console_only: bool = False  # ban / unban: only a console user may register it
    # transaction events carry transaction_id, indexed on the event row
    transactional: bool = False
    # With anonymous registration on, an event for an unknown ID creates an inactive customer;
    # actions that only make sense for an existing profile (opt-out, merge, status changes) don't.
    creates_customer: bool = True

    def attribute(self, name: str) -> Attr | None:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None


PROFILE_ATTRS = (
    Attr("first_name"),
    Attr("last_name"),
    Attr("nickname"),
    Attr("email"),
    Attr("birth_date", "date"),
    Attr("gender"),
    Attr("language"),
    Attr("currency"),
    Attr("phone"),
    Attr("mobile_phone"),
    Attr("image_url"),
    Attr("handler"),
    Attr("country"),
    Attr("city"),
    Attr("zip"),
    Attr("address"),
    Attr("referrer"),
    Attr("labels", "list"),
)
POINTS = Attr("points", "integer", required=True)
ACCOUNT = Attr("account")
REASON = Attr("reason")
EXPIRATION = Attr("expiration_date", "datetime", help="expiration of the added points")
ACTIVATION = Attr("activation_date", "datetime", help="points are pending until then")
TRANSACTION_ID = Attr("transaction_id", required=True)

_SPECS = [
    # Lifecycle (customers.lifecycle)
    ActionSpec(
        "opt_in",
        "Opt-in",
        PROFILE_ATTRS + (Attr("password", secret=True), Attr("confirm_password", secret=True)),
    ),
    ActionSpec("opt_out", "Opt-out", (REASON,), creates_customer=False),
    ActionSpec("profile", "Profile update", PROFILE_ATTRS),
    ActionSpec("login", "Login"),
    # Emitted by `login` at most once per calendar day (program time zone): reference §8.2
    ActionSpec("daily_login", "Daily login", internal=True),
    ActionSpec("verify", "Verification", creates_customer=False),
    ActionSpec("suspend", "Suspend", (REASON,), creates_customer=False),
    ActionSpec("unsuspend", "Unsuspend", (REASON,), creates_customer=False),
    ActionSpec("ban", "Ban", (REASON,), console_only=True, creates_customer=False),
    ActionSpec("unban", "Unban", (REASON,), console_only=True, creates_customer=False),
    ActionSpec(
        "merge",
        "Merge",
        (
            Attr("source", required=True, help="customer ID (or field:value) merged into this one"),
            Attr("mode", help="partial (default) or full: full also copies custom fields"),
            REASON,
        ),
        creates_customer=False,
    ),
    # Points ledger (loyalty.ledger)
    ActionSpec("point_add", "Point add", (POINTS, ACCOUNT, EXPIRATION, ACTIVATION, REASON)),
    ActionSpec("point_sub", "Point sub", (POINTS, ACCOUNT, REASON)),
    ActionSpec("point_spend", "Point spend", (POINTS, ACCOUNT, REASON)),
    ActionSpec("point_unspend", "Point unspend", (POINTS, ACCOUNT, REASON, Attr("spend_event", "integer"))),
    ActionSpec("reserve_points", "Reserve points", (POINTS, ACCOUNT, REASON)),
    ActionSpec("release_points", "Release points", (POINTS, ACCOUNT, REASON)),
    ActionSpec(
        "change_expiration",
        "Change expiration date",
        (Attr("lots", "list", required=True), Attr("expiration_date", "datetime", required=True), REASON),
    ),
    ActionSpec("point_expire", "Point expire", (POINTS, ACCOUNT), internal=True),
    ActionSpec("point_activate", "Point activate", (POINTS, ACCOUNT), internal=True),
    # Tiers (loyalty.tiers)
    ActionSpec(
        "tier_up", "Tier up", (Attr("structure"), Attr("tier"), Attr("expiration_date", "datetime"), REASON)
    ),
    ActionSpec(
        "tier_down",
        "Tier down",
        (Attr("structure"), Attr("tier"), Attr("expiration_date", "datetime"), REASON),
    ),
    ActionSpec(
        "tier_change",
        "Tier change",
        (
            Attr("structure"),
            Attr("tier", required=True),
            Attr("expiration_date", "datetime"),
            Attr("lock", "boolean"),
            REASON,
        ),
    ),
    ActionSpec(
        "tier_expiration_change",
        "Change tier expiration",
        (Attr("structure"), Attr("expiration_date", "datetime", required=True), REASON),
    ),
    # Commerce: transactions.checkout, transactions.refunds, coupons
    *(
        ActionSpec(
            action,
            label,
            (
                TRANSACTION_ID,
                Attr("total", "number", help="rewarding per transaction"),
                Attr(
                    "items",
                    "list",
                    help="rewarding per item: product_id, product_name, product_url, "
                    "product_category, quantity, price, discount, subtotal",
                ),
                Attr("points_burned", "integer"),
                Attr("currency"),
                Attr("channel"),
                ACCOUNT,
                Attr("coupon_code"),
                Attr("coupon_codes", "list"),
                Attr("guest", help="guest checkout: the guest's identifier (e-mail)"),
            ),
            transactional=True,
        )
        for action, label in (("checkout", "Checkout"), ("checkout_update", "Checkout update"))
    ),
    ActionSpec("checkout_accept", "Checkout accept", (TRANSACTION_ID, REASON), transactional=True),
    ActionSpec("checkout_reject", "Checkout reject", (TRANSACTION_ID, REASON), transactional=True),
    ActionSpec("refund", "Refund", (TRANSACTION_ID, REASON), transactional=True),
    ActionSpec(
        "partial_refund",
        "Partial refund",
        (TRANSACTION_ID, Attr("amount", "number", required=True), REASON),
        transactional=True,
    ),
    ActionSpec(
        "refund_item",
        "Refund item",
        (TRANSACTION_ID, Attr("product_id", required=True), Attr("quantity", "integer"), REASON),
        transactional=True,
    ),
    ActionSpec("checkout_claim", "Checkout claim", (TRANSACTION_ID,), transactional=True),
    ActionSpec(
        "point_unburn",
        "Point unburn",
        (TRANSACTION_ID, Attr("points", "integer"), REASON),
        transactional=True,
    ),
    ActionSpec(
        "checkout_item",
        "Checkout item",
        (TRANSACTION_ID, Attr("product_id"), Attr("quantity", "integer"), Attr("subtotal", "number")),
        internal=True,
        transactional=True,
    ),
    ActionSpec("coupon_assign", "Coupon assign", (Attr("code"), Attr("pool"), REASON)),
    ActionSpec(
        "coupon_redeem",
        "Coupon redeem",
        (Attr("code", required=True), Attr("amount", "number"), Attr("transaction_id"), REASON),
    ),
    ActionSpec(
        "coupon_unredeem", "Coupon unredeem", (Attr("code", required=True), Attr("transaction_id"), REASON)
    ),
    ActionSpec("coupon_invalidate", "Coupon invalidate", (Attr("code", required=True), REASON)),
    ActionSpec("coupon_unassign", "Coupon unassign", (Attr("code", required=True), REASON)),
    ActionSpec(
        "coupon_transfer",
        "Coupon transfer",
        (Attr("code", required=True), Attr("to", required=True, help="customer ID or e-mail"), REASON),
    ),
    ActionSpec(
        "coupon_expiration_change",
        "Coupon expiration change",
        (Attr("code", required=True), Attr("expiration_date", "datetime"), REASON),
    ),
    ActionSpec("reward", "Reward", (Attr("reward", required=True, help="reward ID"), REASON)),
    ActionSpec(
        "reward_revoke",
        "Reward revoke",
        (Attr("event", "integer", required=True, help="the claim's reward event ID"), REASON),
        creates_customer=False,
    ),
    # --- end Commerce ------------------------------------------------------------------------------
]

BUILTIN_ACTIONS: dict[str, ActionSpec] = {spec.action: spec for spec in _SPECS}

# Built-in actions of the reference (reference-behaviour.md §8.3) whose module this engine does not
# have: refused with the reference's "module disabled" answer (404, code 113408), not "unknown
# action", so an integration can tell "not here" from a typo. A custom event of the same name wins.
MODULE_DISABLED: dict[str, str] = {
    "challenge_reset": "Challenges",
    "checkout_update_item": "Checkout item",
    "checkout_accept_item": "Checkout item",
    "point_fix": "Point fix",
    "profiling_answer": "Profiling",
    "profiling_flow": "Profiling",
    "offer_claim": "Offers",
    "contest_enter": "Contests",
    "prize_wheel_spin": "Prize wheels",
}
