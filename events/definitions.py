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


@dataclass(frozen=True)
class ActionSpec:
    action: str
    label: str
    attributes: tuple[Attr, ...] = field(default_factory=tuple)
    internal: bool = False  # emitted by the engine only (point_expire, checkout_item, ...)
    console_only: bool = False  # ban / unban: only a console user may register it
    # transaction events carry transaction_id, indexed on the event row
    transactional: bool = False

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
    ActionSpec("opt_in", "Opt-in", PROFILE_ATTRS + (Attr("password"), Attr("confirm_password"))),
    ActionSpec("opt_out", "Opt-out", (REASON,)),
    ActionSpec("profile", "Profile update", PROFILE_ATTRS),
    ActionSpec("login", "Login"),
    ActionSpec("verify", "Verification"),
    ActionSpec("suspend", "Suspend", (REASON,)),
    ActionSpec("unsuspend", "Unsuspend", (REASON,)),
    ActionSpec("ban", "Ban", (REASON,), console_only=True),
    ActionSpec("unban", "Unban", (REASON,), console_only=True),
    ActionSpec(
        "merge",
        "Merge",
        (Attr("source", required=True, help="customer ID merged into this one"), Attr("mode"), REASON),
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
    ActionSpec("tier_up", "Tier up", (Attr("structure"), Attr("tier"), Attr("expiration_date", "datetime"), REASON)),
    ActionSpec("tier_down", "Tier down", (Attr("structure"), Attr("tier"), Attr("expiration_date", "datetime"), REASON)),
    ActionSpec(
        "tier_change",
        "Tier change",
        (Attr("structure"), Attr("tier", required=True), Attr("expiration_date", "datetime"), Attr("lock", "boolean"), REASON),
    ),
    ActionSpec(
        "tier_expiration_change",
        "Change tier expiration",
        (Attr("structure"), Attr("expiration_date", "datetime", required=True), REASON),
    ),
]

BUILTIN_ACTIONS: dict[str, ActionSpec] = {spec.action: spec for spec in _SPECS}
