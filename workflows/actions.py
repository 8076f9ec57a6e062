"""Action nodes: each registers events through `register_event` (source automation, the
workflow named), on the task queue after the triggering event committed (workflows.runner).

`ACTIONS[type](ctx) -> Event | None`; a refusal is an EngineError (or ExpressionError) and the
node takes its failure output. `ctx` is an `ActionContext`: the run, the node's config, the
customer row, the expression state and `register(action, data, reason)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from coupons import pools
from coupons.models import CouponPool
from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from events.models import Event
from loyalty import expressions
from loyalty.errors import NotFound, ValidationError
from referrals.referrals import advocate_of
from webhooks import delivery as webhook_delivery

from . import evaluate
from .models import WorkflowRun
from .triggers import automation


@dataclass
class ActionContext:
    run: WorkflowRun
    node: dict
    config: dict
    customer: Customer
    state: evaluate.State
    detail: dict

    def render(self, key: str, default: str = "") -> str:
        value = self.config.get(key)
        return expressions.render(value, self.state.namespace()) if value else default

    def points(self, key: str = "points") -> int:
        return expressions.evaluate_points(self.config[key], self.state.namespace())

    def register(
        self, action: str, data: dict | None = None, reason: str = "", customer: Customer | None = None
    ) -> Event | None:
        """Register `action` on the run's customer (or `customer`, e.g. a referral's advocate)."""
        with automation(self.run.depth + 1, self.run.workflow_id):
            result = register_event(
                environment=self.run.environment,
                customer=customer or self.customer,
                action=action,
                data=data or {},
                source=EventSource.AUTOMATION,
                workflow_id=self.run.workflow_id,
                reason=reason or f"Workflow: {self.run.workflow.name}"[:500],
                internal=action in INTERNAL_OK,
            )
        self.detail["event_action"] = action
        return result.event


# Internal actions a node may register (the engine refuses them from the API and the console).
INTERNAL_OK = frozenset({"campaign_bonus"})


def campaign_bonus(ctx: ActionContext) -> Event | None:
    campaign_id = ctx.run.workflow.campaign_id
    if campaign_id is None:
        raise ValidationError("Only a campaign's workflows give a campaign bonus.", field="campaign")
    wanted = ctx.points()
    ctx.detail["points_wanted"] = wanted
    description = ctx.render("description") or f"Campaign bonus: {ctx.run.workflow.campaign}"
    # The handler (workflows.campaigns.campaign_bonus) counts it against the caps and credits it.
    event = ctx.register("campaign_bonus", {"points": wanted, "campaign": campaign_id}, description)
    ctx.detail["points"] = event.points if event is not None else 0
    return event


def point_add(ctx: ActionContext) -> Event | None:
    points = ctx.points()
    ctx.detail["points"] = points
    data = {"points": points, **({"account": ctx.config["account"]} if ctx.config.get("account") else {})}
    return ctx.register("point_add", data, ctx.render("reason"))


def point_sub(ctx: ActionContext) -> Event | None:
    points = ctx.points()
    ctx.detail["points"] = points
    data = {"points": points, **({"account": ctx.config["account"]} if ctx.config.get("account") else {})}
    return ctx.register("point_sub", data, ctx.render("reason"))


def assign_coupon(ctx: ActionContext) -> Event | None:
    pool = CouponPool.objects.filter(pk=ctx.config["pool"]).first()
    if pool is None:
        raise NotFound(f"Coupon pool {ctx.config['pool']} does not exist.", field="pool")
    if ctx.config.get("pattern"):
        code = pools.generate_codes(pool, 1, ctx.config["pattern"])[0]
        ctx.detail["generated"] = code
        return ctx.register("coupon_assign", {"code": code})
    return ctx.register("coupon_assign", {"pool": str(pool.pk)})


def transfer_coupon(ctx: ActionContext) -> Event | None:
    return ctx.register("coupon_transfer", {"code": ctx.render("code"), "to": ctx.render("to")})


def _labels(customer: Customer) -> list[str]:
    return list(customer.labels.order_by("name").values_list("name", flat=True))


def add_label(ctx: ActionContext) -> Event | None:
    labels = _labels(ctx.customer)
    if ctx.config["label"] in labels:
        ctx.detail["note"] = "already labelled"
        return None
    return ctx.register("profile", {"labels": [*labels, ctx.config["label"]]})


def remove_label(ctx: ActionContext) -> Event | None:
    labels = _labels(ctx.customer)
    if ctx.config["label"] not in labels:
        ctx.detail["note"] = "no such label on the customer"
        return None
    return ctx.register("profile", {"labels": [label for label in labels if label != ctx.config["label"]]})


def list_add(ctx: ActionContext) -> Event | None:
    return ctx.register("customer_list_add", {"list": ctx.config["list"]})


def list_remove(ctx: ActionContext) -> Event | None:
    return ctx.register("customer_list_remove", {"list": ctx.config["list"]})


def change_tier(ctx: ActionContext) -> Event | None:
    data = {
        "tier": ctx.config["tier"],
        **({"structure": ctx.config["structure"]} if ctx.config.get("structure") else {}),
    }
    return ctx.register("tier_change", data, ctx.render("reason"))


def remove_tier(ctx: ActionContext) -> Event | None:
    """A tier_remove event (loyalty.tiers.tier_remove): the structure named, else the first."""
    data = {key: ctx.config[key] for key in ("structure", "tier") if ctx.config.get(key)}
    return ctx.register("tier_remove", data, ctx.render("reason"))


def trigger_event(ctx: ActionContext) -> Event | None:
    data = {
        key: expressions.render(value, ctx.state.namespace())
        for key, value in (ctx.config.get("data") or {}).items()
    }
    return ctx.register(ctx.config["action"], data)


def reward_claim(ctx: ActionContext) -> Event | None:
    return ctx.register("reward", {"reward": ctx.config["reward"]})


def suspend(ctx: ActionContext) -> Event | None:
    return ctx.register("suspend", {}, ctx.render("reason"))


def modify_customer(ctx: ActionContext) -> Event | None:
    data = {key: expressions.render(value, ctx.state.namespace()) for key, value in ctx.config["set"].items()}
    ctx.detail["set"] = data
    return ctx.register("profile", data)


def modify_coupon(ctx: ActionContext) -> Event | None:
    data = {"code": ctx.render("code"), "expiration_date": ctx.render("expiration_date")}
    ctx.detail["set"] = data
    return ctx.register("coupon_expiration_change", data)


def referral_bonus(ctx: ActionContext) -> Event | None:
    """Points for the advocate who referred the run's customer (referrals.referrals.referral_bonus)."""
    referral = advocate_of(ctx.customer)
    if referral is None:
        raise NotFound("Nobody referred this customer.", field="friend")
    points = ctx.points()
    ctx.detail["points"] = points
    data = {"points": points, "friend": ctx.customer.customer_id}
    return ctx.register("referral_bonus", data, ctx.render("reason"), customer=referral.advocate)


def webhook_msg_id(ctx: ActionContext) -> str:
    """The message's webhook-id, fixed by the effect's key (run, version, node): a redelivered
    task that got past the step check still cannot queue a second message (Delivery.msg_id is
    unique), and the receiver sees one ID per run and node."""
    key = f"wf-run-{ctx.run.pk}-v{ctx.run.version_id}-{ctx.node['id']}"
    return "msg_wf_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def webhook_message(ctx: ActionContext) -> Event | None:
    """Queue a message to a trusted site (webhooks.delivery.enqueue_message); no event. Its
    Delivery commits with the step or not at all (workflows.runner), so it is sent once."""
    namespace = ctx.state.namespace()
    trigger = ctx.run.trigger_event  # None for date, history and segment triggers
    path = expressions.render(ctx.config["path"], namespace)
    body = (
        expressions.render(ctx.config["body"], namespace, single_braces=False)
        if ctx.config.get("body")
        else ""
    )
    message = webhook_delivery.enqueue_message(
        ctx.config["site"],
        path,
        body,
        customer=ctx.customer,
        source="workflow",
        action=trigger.action if trigger is not None else "",
        event=trigger,
        msg_id=webhook_msg_id(ctx),
    )
    ctx.detail.update({"delivery": message.pk, "msg_id": message.msg_id})
    return None


ACTIONS: dict[str, Callable[[ActionContext], Event | None]] = {
    "campaign_bonus": campaign_bonus,
    "point_add": point_add,
    "point_sub": point_sub,
    "assign_coupon": assign_coupon,
    "transfer_coupon": transfer_coupon,
    "add_label": add_label,
    "remove_label": remove_label,
    "list_add": list_add,
    "list_remove": list_remove,
    "change_tier": change_tier,
    "remove_tier": remove_tier,
    "trigger_event": trigger_event,
    "reward_claim": reward_claim,
    "suspend": suspend,
    "modify_customer": modify_customer,
    "modify_coupon": modify_coupon,
    "referral_bonus": referral_bonus,
    "webhook_message": webhook_message,
}

# Actions whose only write is one `ctx.register` (register_event runs in its own savepoint, which
# a refused or failing event rolls back): when the run's walk is one transaction
# (workflows.runner, `one_transaction`) they need no savepoint of their own: two round trips less
# per action event. Listed by name, so a new action gets its own savepoint until it is added here
# (the safe default); OWN_SAVEPOINT names the ones that write something else first, and a test
# checks that every action is in exactly one of the two.
SINGLE_REGISTER = frozenset(
    {
        "campaign_bonus", "point_add", "point_sub", "transfer_coupon", "add_label", "remove_label",
        "list_add", "list_remove", "change_tier", "remove_tier", "trigger_event", "reward_claim",
        "suspend", "modify_customer", "modify_coupon", "referral_bonus",
    }
)  # fmt: skip
OWN_SAVEPOINT = frozenset(
    {
        "assign_coupon",  # a pattern writes the generated code before the coupon_assign event
        "webhook_message",  # queues a delivery row, no event
    }
)
