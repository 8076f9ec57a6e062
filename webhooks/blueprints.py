"""Blueprints of incoming webhooks (the reference's "Create new webhook → Blueprints": `Blank`, or
prefilled mParticle scenarios). A blueprint only prefills the endpoint form; nothing is stored
until the form is saved, and every value can be changed there.

The mParticle ones read mParticle's event batch (the JSON its Webhook / Events API output posts):

    {"events": [{"event_type": "commerce_event",
                 "data": {"product_action": {"action": "purchase", "transaction_id": "T-1001",
                                             "total_amount": 59.9, "products": [...]},
                          "currency_code": "EUR", "custom_attributes": {...}}}],
     "user_identities": {"customer_id": "Anna-1", "email": "anna@example.com"},
     "user_attributes": {"$firstname": "Anna", ...}, "mpid": "-8433569", "environment": "production"}

One request becomes one event: a blueprint maps the batch's first event and its filters check that
event's type, so a batch of another kind is logged as filtered (answered 200, not retried).
mParticle is set to send one event per batch for these outputs. Authentication: a static token
in the `x-mparticle-token` header (configure the same custom header on mParticle's side)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .choices import FilterMode, IncomingAuth, RequestMethod

FIRST = "body.events[0]"
CUSTOMER = "body.user_identities.customer_id"


@dataclass(frozen=True)
class Blueprint:
    key: str
    title: str
    description: str
    values: dict = field(default_factory=dict)

    def initial(self) -> dict:
        """The endpoint form's initial values (attributes and filters as the form's text)."""
        values = dict(self.values)
        values["attributes"] = "\n".join(f"{k} = {v}" for k, v in values.get("attributes", {}).items())
        values["filters"] = "\n".join(values.get("filters", []))
        return values


_MPARTICLE = {
    "method": RequestMethod.POST,
    "customer_expression": CUSTOMER,
    "filter_mode": FilterMode.ALL,
    "auth_method": IncomingAuth.STATIC_TOKEN,
    "auth_header": "x-mparticle-token",
}

BLUEPRINTS = [
    Blueprint("blank", "Blank", "An empty endpoint: write the mapping yourself."),
    Blueprint(
        "mparticle-purchase",
        "mParticle: purchase → checkout",
        "A commerce event with the purchase product action registers a checkout: the "
        "transaction ID, the total amount and the currency of the batch's first event.",
        {
            **_MPARTICLE,
            "name": "mparticle-purchase",
            "action": "checkout",
            "attributes": {
                "transaction_id": f"{FIRST}.data.product_action.transaction_id",
                "total": f"{FIRST}.data.product_action.total_amount",
                "currency": f"{FIRST}.data.currency_code",
                "channel": '"mparticle"',
            },
            "filters": [
                f'{FIRST}.event_type == "commerce_event"',
                f'{FIRST}.data.product_action.action == "purchase"',
            ],
        },
    ),
    Blueprint(
        "mparticle-refund",
        "mParticle: refund → refund",
        "A commerce event with the refund product action refunds the transaction it names.",
        {
            **_MPARTICLE,
            "name": "mparticle-refund",
            "action": "refund",
            "attributes": {
                "transaction_id": f"{FIRST}.data.product_action.transaction_id",
                "reason": '"Refunded in mParticle"',
            },
            "filters": [
                f'{FIRST}.event_type == "commerce_event"',
                f'{FIRST}.data.product_action.action == "refund"',
            ],
        },
    ),
    Blueprint(
        "mparticle-opt-in",
        "mParticle: loyalty sign-up → opt-in",
        "A custom event named loyalty_opt_in enrols the customer with the e-mail address and "
        "name mParticle knows.",
        {
            **_MPARTICLE,
            "name": "mparticle-opt-in",
            "action": "opt_in",
            "attributes": {
                "email": "body.user_identities.email",
                "first_name": 'body.user_attributes["$firstname"]',
                "last_name": 'body.user_attributes["$lastname"]',
            },
            "filters": [
                f'{FIRST}.event_type == "custom_event"',
                f'{FIRST}.data.event_name == "loyalty_opt_in"',
            ],
        },
    ),
]

BY_KEY = {b.key: b for b in BLUEPRINTS}
