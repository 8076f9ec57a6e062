"""The catalog of built-in actions: their attributes, types, required flags and whether they are
internal (emitted only by the engine) or console-only. Custom events come from EventDefinition.

Attribute types: string, number, integer, boolean, date, datetime, list, object (events.choices).
Data may carry further attributes than those listed; listed ones are validated and coerced.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from loyalty.bounds import INTEGER_MAX, MONEY_MAX, POINTS_MAX, QUANTITY_MAX, TEXT_MAX


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    required: bool = False
    help: str = ""
    # Passed to the handler but never stored on the event (passwords of the Display API opt-in).
    secret: bool = False
    # Bounds: characters of a string (or of each string in a list), entries of a list, and the
    # smallest and largest value of a number or integer. None: the type's default above.
    max_length: int | None = None
    max_items: int | None = None
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    # A date-time given as a bare date names a whole local day: "start" reads it
    # as 00:00:00 of that day in the program's time zone, "end" as 23:59:59 (expiration dates).
    day: str = "start"


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
    # Customer activity: the event moves the customer's last_activity_at / updated_at and pushes
    # dynamic point expiration (loyalty.ledger.lots.after_event). Not for the list memberships an
    # admin or integration assigns (customer_list_add / _remove): Antavo's active-member table
    # counts customer-driven events, not assignments (coupon_assign: no), and a list of lapsed
    # customers must not make them look active. A handler that changes the customer row still
    # moves updated_at (the profile changed).
    activity: bool = True

    def attribute(self, name: str) -> Attr | None:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None


# Lengths are the customers.Customer columns' (tests/events/test_bounds.py checks they agree).
PROFILE_ATTRS = (
    Attr("first_name", max_length=200),
    Attr("last_name", max_length=200),
    Attr("nickname", max_length=200),
    Attr("email", max_length=254),
    Attr("birth_date", "date"),
    Attr("gender", max_length=20),
    Attr("language", max_length=10),
    Attr("currency", max_length=3),
    Attr("phone", max_length=40),
    Attr("mobile_phone", max_length=40),
    Attr("image_url", max_length=500),
    Attr("handler", max_length=200),
    Attr("country", max_length=100),
    Attr("city", max_length=100),
    Attr("zip", max_length=20),
    Attr("address", max_length=300),
    Attr("referrer", max_length=128),
    Attr("labels", "list", max_length=100),  # a label name: customers.Label.name
)
POINTS = Attr("points", "integer", required=True, minimum=1, maximum=POINTS_MAX)
ACCOUNT = Attr("account", max_length=64)
REASON = Attr("reason", max_length=TEXT_MAX)
EXPIRATION = Attr("expiration_date", "datetime", help="expiration of the added points", day="end")
ACTIVATION = Attr("activation_date", "datetime", help="points are pending until then")
TRANSACTION_ID = Attr("transaction_id", required=True, max_length=128)
COUPON_CODE = Attr("code", required=True, max_length=64)
MONEY = {"minimum": 0, "maximum": MONEY_MAX}
REFERRAL_CODE = Attr(
    "referral_code", max_length=64, help="a friend's referral code (first purchase / opt-in)"
)
# (Talon.One ledgers): loyalty.ledger.subledgers and loyalty.ledger.reward_dates.
SUBLEDGER_ATTRS = (
    Attr("subledger", help="the customer's subledger ID (created on the spot by point_add)"),
    Attr("reward_start", help="default | immediate | relative (5D, 1W@last_sunday) | ISO date"),
    Attr("reward_expiration", help="default | unlimited | relative (10m, 1M@last_day_of_month) | ISO date"),
    Attr("create_subledger", "boolean", help="refuse when the subledger exists already"),
)

_SPECS = [
    # Lifecycle (customers.lifecycle)
    ActionSpec(
        "opt_in",
        "Opt-in",
        PROFILE_ATTRS
        + (
            Attr("password", secret=True, max_length=128),
            Attr("confirm_password", secret=True, max_length=128),
            REFERRAL_CODE,
        ),
    ),
    ActionSpec("opt_out", "Opt-out", (REASON,), creates_customer=False),
    ActionSpec(
        "profile",
        "Profile update",
        PROFILE_ATTRS
        + (
            Attr("password", secret=True, max_length=128),
            Attr("confirm_password", secret=True, max_length=128),
        ),
    ),
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
            Attr(
                "source",
                required=True,
                max_length=300,
                help="customer ID (or field:value) merged into this one",
            ),
            Attr("mode", max_length=10, help="partial (default) or full: full also copies custom fields"),
            REASON,
        ),
        creates_customer=False,
    ),
    # Points ledger (loyalty.ledger)
    ActionSpec(
        "point_add",
        "Point add",
        (POINTS, ACCOUNT, EXPIRATION, ACTIVATION, REASON, *SUBLEDGER_ATTRS),  # subledgers
    ),
    ActionSpec("point_sub", "Point sub", (POINTS, ACCOUNT, REASON, SUBLEDGER_ATTRS[0])),
    ActionSpec("point_spend", "Point spend", (POINTS, ACCOUNT, REASON)),
    ActionSpec(
        "point_unspend",
        "Point unspend",
        (POINTS, ACCOUNT, REASON, Attr("spend_event", "integer", minimum=1, maximum=INTEGER_MAX)),
    ),
    ActionSpec("reserve_points", "Reserve points", (POINTS, ACCOUNT, REASON)),
    ActionSpec("release_points", "Release points", (POINTS, ACCOUNT, REASON)),
    ActionSpec(
        "change_expiration",
        "Change expiration date",
        (
            Attr("lots", "list", required=True),
            Attr("expiration_date", "datetime", required=True, day="end"),
            REASON,
        ),
    ),
    ActionSpec(
        "point_expire",
        "Point expire",
        (Attr("points", "integer", minimum=0, maximum=POINTS_MAX), ACCOUNT),
        internal=True,
    ),
    ActionSpec(
        "point_activate",
        "Point activate",
        (Attr("points", "integer", minimum=0, maximum=POINTS_MAX), ACCOUNT),
        internal=True,
    ),
    # Tiers (loyalty.tiers)
    ActionSpec(
        "tier_up",
        "Tier up",
        (
            Attr("structure", max_length=64),
            Attr("tier", max_length=64),
            Attr("expiration_date", "datetime", day="end"),
            REASON,
        ),
    ),
    ActionSpec(
        "tier_down",
        "Tier down",
        (
            Attr("structure", max_length=64),
            Attr("tier", max_length=64),
            Attr("expiration_date", "datetime", day="end"),
            REASON,
        ),
    ),
    ActionSpec(
        "tier_change",
        "Tier change",
        (
            Attr("structure", max_length=64),
            Attr("tier", required=True, max_length=64),
            Attr("expiration_date", "datetime", day="end"),
            Attr("lock", "boolean"),
            REASON,
        ),
    ),
    # Takes the customer out of a tier structure (the workflow node "Remove tier"; the console's
    # Remove tier): loyalty.tiers.tier_remove.
    ActionSpec(
        "tier_remove",
        "Tier remove",
        (
            Attr("structure", max_length=64),
            Attr("tier", max_length=64, help="the tier removed: refused when the customer holds another one"),
            REASON,
        ),
        creates_customer=False,
    ),
    # The scheduled tier review (loyalty.tasks.review_tiers).
    ActionSpec("tier_review", "Tier review", (REASON,), internal=True, creates_customer=False),
    ActionSpec(
        "tier_expiration_change",
        "Change tier expiration",
        (
            Attr("structure", max_length=64),
            Attr("expiration_date", "datetime", required=True, day="end"),
            REASON,
        ),
    ),
    # Commerce: transactions.checkout, transactions.refunds, coupons
    *(
        ActionSpec(
            action,
            label,
            (
                TRANSACTION_ID,
                Attr("total", "number", help="rewarding per transaction", **MONEY),
                Attr(
                    "items",
                    "list",
                    max_items=500,  # lines (transactions.items bounds each field)
                    help="rewarding per item: product_id, product_name, product_url, "
                    "product_category, quantity, price, discount, subtotal",
                ),
                Attr("points_burned", "integer", minimum=0, maximum=POINTS_MAX),
                Attr("currency", max_length=3),
                Attr("channel", max_length=64),
                ACCOUNT,
                Attr("coupon_code", max_length=64),
                Attr("coupon_codes", "list", max_length=64, max_items=100),
                Attr("guest", max_length=254, help="guest checkout: the guest's identifier (e-mail)"),
                REFERRAL_CODE,
                *(
                    (
                        Attr(
                            "historical",
                            "boolean",
                            help="imports only: a past purchase stored accepted, for history and "
                            "purchase statistics, earning no points (transactions.checkout)",
                        ),
                    )
                    if action == "checkout"
                    else ()
                ),
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
        (TRANSACTION_ID, Attr("amount", "number", required=True, **MONEY), REASON),
        transactional=True,
    ),
    ActionSpec(
        "refund_item",
        "Refund item",
        (
            TRANSACTION_ID,
            Attr("product_id", required=True, max_length=200),
            Attr("quantity", "integer", minimum=1, maximum=QUANTITY_MAX),
            REASON,
        ),
        transactional=True,
    ),
    ActionSpec("checkout_claim", "Checkout claim", (TRANSACTION_ID,), transactional=True),
    ActionSpec(
        "point_unburn",
        "Point unburn",
        (TRANSACTION_ID, Attr("points", "integer", minimum=1, maximum=POINTS_MAX), REASON),
        transactional=True,
    ),
    *(
        ActionSpec(
            action,
            label,
            (
                TRANSACTION_ID,
                Attr("product_id", max_length=200),
                Attr("quantity", "integer", minimum=0, maximum=QUANTITY_MAX),
                Attr("subtotal", "number", **MONEY),
            ),
            internal=True,
            transactional=True,
        )
        # checkout_update_item: the items of a checkout_update, superseding the earlier ones
        # (Antavo's name).
        for action, label in (
            ("checkout_item", "Checkout item"),
            ("checkout_update_item", "Checkout update item"),
        )
    ),
    ActionSpec(
        "coupon_assign", "Coupon assign", (Attr("code", max_length=64), Attr("pool", max_length=64), REASON)
    ),
    ActionSpec(
        "coupon_redeem",
        "Coupon redeem",
        (COUPON_CODE, Attr("amount", "number", **MONEY), Attr("transaction_id", max_length=128), REASON),
    ),
    ActionSpec(
        "coupon_unredeem", "Coupon unredeem", (COUPON_CODE, Attr("transaction_id", max_length=128), REASON)
    ),
    ActionSpec("coupon_invalidate", "Coupon invalidate", (COUPON_CODE, REASON)),
    ActionSpec("coupon_unassign", "Coupon unassign", (COUPON_CODE, REASON)),
    ActionSpec(
        "coupon_transfer",
        "Coupon transfer",
        (COUPON_CODE, Attr("to", required=True, max_length=254, help="customer ID or e-mail"), REASON),
    ),
    ActionSpec(
        "coupon_expiration_change",
        "Coupon expiration change",
        (COUPON_CODE, Attr("expiration_date", "datetime", day="end"), REASON),
    ),
    ActionSpec(
        "reward",
        "Reward",
        (
            Attr("reward", required=True, max_length=64, help="reward ID"),
            Attr(
                "bid", "integer", minimum=1, help="a bidding reward's winning bid (its reward_bid event ID)"
            ),
            REASON,
        ),
    ),
    # Bidding rewards (coupons.auctions): registered by the Display API's .../bid only, which
    # locks the auction before the customer (hence internal here); the release by the engine.
    ActionSpec(
        "reward_bid",
        "Reward bid",
        (
            Attr("reward", required=True, max_length=64, help="reward ID"),
            Attr(
                "amount", "integer", minimum=1, maximum=POINTS_MAX, help="points bid; empty: the minimum bid"
            ),
            REASON,
        ),
        internal=True,
        creates_customer=False,
    ),
    ActionSpec(
        "reward_bid_release",
        "Reward bid release",
        (
            Attr("reward", required=True, max_length=64, help="reward ID"),
            Attr("bid", "integer", required=True, help="the released bid's reward_bid event ID"),
        ),
        internal=True,
    ),
    ActionSpec(
        "reward_revoke",
        "Reward revoke",
        (Attr("event", "integer", required=True, help="the claim's reward event ID"), REASON),
        creates_customer=False,
    ),
    # --- end Commerce ------------------------------------------------------------------------------
    # Workflows (workflows.campaigns.campaign_bonus): the Campaign bonus node's points, counted
    # against the campaign's caps; the reference's internal `campaign_bonus` event. Bonuses paid
    # before this action existed are stored as point_add events of the workflow (docs/workflows.md).
    ActionSpec(
        "campaign_bonus",
        "Campaign bonus",
        (
            POINTS,
            Attr("campaign", "integer", required=True, minimum=1, maximum=INTEGER_MAX, help="campaign ID"),
            REASON,
        ),
        internal=True,
        creates_customer=False,
    ),
    # Customer lists (segments.lists)
    ActionSpec(
        "customer_list_add",
        "Customer list add",
        (Attr("list", "integer", required=True, help="list ID"), REASON),
        creates_customer=False,
        activity=False,
    ),
    ActionSpec(
        "customer_list_remove",
        "Customer list remove",
        (Attr("list", "integer", required=True, help="list ID"), REASON),
        creates_customer=False,
        activity=False,
    ),
    # Loyalty cards (cards.cards)
    ActionSpec(
        "card_register",
        "Card register",
        (Attr("card", required=True, max_length=108), REASON),
        creates_customer=False,
    ),
    ActionSpec(
        "card_unregister",
        "Card unregister",
        (Attr("card", required=True, max_length=108), REASON),
        creates_customer=False,
    ),
    # Achievements (achievements.progress): a follow-up of the completing event
    ActionSpec(
        "achievement_completed",
        "Achievement completed",
        (Attr("achievement", required=True), Attr("progress"), Attr("target")),
        internal=True,
    ),
    # Referrals (referrals.referrals)
    ActionSpec(
        "referral_code_create",
        "Referral code create",
        (
            Attr("code", help="empty: generated", max_length=64),
            Attr("start_date", "datetime"),
            Attr("expiry_date", "datetime"),
            Attr("usage_limit", "integer", help="0 = unlimited"),
            REASON,
        ),
        creates_customer=False,
    ),
    ActionSpec(
        "referral_redeem",
        "Referral redeem",
        (Attr("code", required=True, max_length=64), Attr("transaction_id", max_length=128), REASON),
        creates_customer=False,
    ),
    ActionSpec(
        "referral_reward",
        "Referral reward",
        (Attr("referral", "integer", required=True), Attr("points", "integer"), Attr("friend")),
        internal=True,
    ),
    ActionSpec(
        "card_transfer",
        "Card transfer",
        (
            Attr("card", required=True, max_length=108),
            Attr("new_card", required=True, max_length=108),
            REASON,
        ),
        creates_customer=False,
    ),
    ActionSpec(
        "card_status_change",
        "Card status change",
        (
            Attr("card", required=True, max_length=108),
            Attr("status", required=True, max_length=10, help="active | inactive | blocked (permanent)"),
            REASON,
        ),
        creates_customer=False,
    ),
    ActionSpec(
        "referral_bonus",
        "Referral bonus",
        (
            POINTS,
            Attr("friend", required=True, max_length=200, help="the referred customer's ID"),
            REASON,
        ),
        creates_customer=False,
    ),
]

BUILTIN_ACTIONS: dict[str, ActionSpec] = {spec.action: spec for spec in _SPECS}

# Built-in actions of the reference (reference-behaviour.md §8.3) whose module this engine does not
# have: refused with the reference's "module disabled" answer (404, code 113408), not "unknown
# action", so an integration can tell "not here" from a typo. A custom event of the same name wins.
MODULE_DISABLED: dict[str, str] = {
    "challenge_reset": "Challenges",
    "checkout_accept_item": "Checkout item",
    "point_fix": "Point fix",
    "profiling_answer": "Profiling",
    "profiling_flow": "Profiling",
    "offer_claim": "Offers",
    "contest_enter": "Contests",
    "prize_wheel_spin": "Prize wheels",
}
