"""The JSON Schema of every node type's configuration (see workflows.nodes). Keep one entry per
node; the editor, the API validation and the docs read these and nothing else."""

from loyalty.bounds import POINTS_MAX

_TREE = {
    "type": "object",
    "title": "Conditions",
    "description": "A condition tree of the one condition language (segments.conditions): "
    '{"match": "all"|"any", "conditions": [{"field", "operator", "value"}, ...]}',
    "required": ["conditions"],
    "properties": {
        "match": {"type": "string", "enum": ["all", "any"]},
        "conditions": {"type": "array", "minItems": 1, "maxItems": 50},
    },
}
_REASON = {"type": "string", "title": "Reason", "maxLength": 500, "x-expression": "template"}
# A whole number is checked on save as the engine checks an event's points (loyalty.bounds); an
# ID fits the bigint column (a literal that could never run: refused on its field, not at run time).
_POINTS = {
    "type": ["string", "integer"],
    "title": "Points",
    "description": "a whole number or an expression, e.g. {event.points} * 2",
    "minimum": 1,
    "maximum": POINTS_MAX,
    "x-expression": "expression",
}
BIGINT_MAX = 2**63 - 1
_ID = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}
_NAME = {"type": "string", "minLength": 1, "maxLength": 64}
_ACTION = ("action",)
_MODIFIER = ("modifier",)
_CRON_TIME = {
    "type": "string",
    "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    "title": "Time (HH:MM, program time zone)",
}


def _obj(required, **properties):
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": properties,
    }


NODE_TYPES = [
    # --- triggers (one per graph, id "trigger") ----------------------------------------------------
    {
        "name": "event_trigger",
        "label": "Event",
        "family": "trigger",
        "outputs": ("modifier", "action"),
        "branches": (),
        "help": "Any built-in or custom action. The modifier output runs before the event is stored "
        "(Interrupt, Modify event); the action output after it is stored.",
        "schema": _obj(
            ["action"], action={"type": "string", "title": "Event type", "minLength": 1, "maxLength": 64}
        ),
    },
    {
        "name": "date_trigger",
        "label": "On a date",
        "family": "trigger",
        "outputs": ("on",),
        "branches": (),
        "help": "Once, or repeating daily / weekly / monthly / yearly at a time of day in the program's "
        "time zone, for every customer matching the pre-filter (sandbox: its test clock).",
        "schema": _obj(
            ["repeat", "time"],
            repeat={"type": "string", "enum": ["once", "daily", "weekly", "monthly", "yearly"]},
            date={"type": "string", "format": "date", "title": "Date (once; yearly: month and day)"},
            time=_CRON_TIME,
            weekday={"type": "integer", "minimum": 0, "maximum": 6, "title": "Weekday (0 = Monday)"},
            day={"type": "integer", "minimum": 1, "maximum": 31, "title": "Day of month"},
            prefilter={**_TREE, "title": "Pre-filter (customers)"},
        ),
    },
    {
        "name": "historical_trigger",
        "label": "Historical events",
        "family": "trigger",
        "outputs": ("on",),
        "branches": (),
        "help": "A one-off run over stored events of one type in a date window; each customer at most once.",
        "schema": _obj(
            ["action", "start", "end"],
            action={"type": "string", "minLength": 1, "maxLength": 64},
            start={"type": "string", "format": "date"},
            end={"type": "string", "format": "date"},
        ),
    },
    {
        "name": "segment_trigger",
        "label": "Segment entered / left",
        "family": "trigger",
        "outputs": ("on",),
        "branches": (),
        "help": "Fires for customers entering (or leaving) a segment, from its membership changes.",
        "schema": _obj(
            ["segment", "direction"], segment=_ID, direction={"type": "string", "enum": ["entered", "left"]}
        ),
    },
    # --- filters ------------------------------------------------------------------------------------
    {
        "name": "filter_event",
        "label": "Event attribute",
        "family": "filter",
        "help": "Conditions on the triggering event: action, points, transaction_id and its data attributes.",
        "schema": _obj(["conditions"], conditions=_TREE),
    },
    {
        "name": "filter_customer",
        "label": "Customer attribute",
        "family": "filter",
        "help": "Conditions on the customer in the condition language of segments: attributes, segments, "
        "lists, labels, tiers, balances, purchases, event counts.",
        "schema": _obj(["conditions"], conditions=_TREE),
    },
    {
        "name": "filter_variable",
        "label": "Variable",
        "family": "filter",
        "help": "Conditions on variables assigned earlier in the run (field = the variable's name).",
        "schema": _obj(["conditions"], conditions=_TREE),
    },
    {
        "name": "filter_aggregate",
        "label": "Aggregated customer attributes",
        "family": "filter",
        "help": "Fraud prevention: points earned by the customer in a period compared to a threshold.",
        "schema": _obj(
            ["period", "operator", "threshold"],
            period={"type": "string", "enum": ["today", "week_to_date", "month_to_date", "last_24_hours"]},
            aggregation={"type": "string", "enum": ["earned"], "default": "earned"},
            operator={"type": "string", "enum": ["ge", "gt", "le", "lt", "eq"]},
            threshold={"type": "integer", "minimum": 0},
        ),
    },
    {
        "name": "filter_random",
        "label": "Random split",
        "family": "filter",
        "help": "Success for the given share of runs, failure for the rest.",
        "schema": _obj(["percent"], percent={"type": "number", "minimum": 0, "maximum": 100}),
    },
    # --- actions (after the event is stored, on the task queue) -------------------------------------
    {
        "name": "campaign_bonus",
        "label": "Campaign bonus",
        "family": "action",
        "branches": _ACTION,
        "help": "Points (an expression) counted against the campaign's caps; only in a campaign's workflow.",
        "schema": _obj(["points"], points=_POINTS, description={**_REASON, "title": "Description"}),
    },
    {
        "name": "point_add",
        "label": "Point add",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(
            ["points"], points=_POINTS, account={"type": "string", "maxLength": 64}, reason=_REASON
        ),
    },
    {
        "name": "point_sub",
        "label": "Point sub",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(
            ["points"], points=_POINTS, account={"type": "string", "maxLength": 64}, reason=_REASON
        ),
    },
    {
        "name": "assign_coupon",
        "label": "Assign coupon",
        "family": "action",
        "branches": _ACTION,
        "help": "The next coupon of a pool, or a new code generated from a pattern (? = a random character) "
        "into that pool.",
        "schema": _obj(
            ["pool"],
            pool=_ID,
            pattern={"type": "string", "maxLength": 64, "title": "Generate from pattern (optional)"},
        ),
    },
    {
        "name": "transfer_coupon",
        "label": "Coupon transfer",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(
            ["code", "to"],
            code={"type": "string", "maxLength": 200, "x-expression": "template"},
            to={"type": "string", "maxLength": 300, "x-expression": "template", "title": "To customer"},
        ),
    },
    {
        "name": "add_label",
        "label": "Add label",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(["label"], label={"type": "string", "minLength": 1, "maxLength": 100}),
    },
    {
        "name": "remove_label",
        "label": "Remove label",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(["label"], label={"type": "string", "minLength": 1, "maxLength": 100}),
    },
    {
        "name": "list_add",
        "label": "Add to list",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(["list"], list=_ID),
    },
    {
        "name": "list_remove",
        "label": "Remove from list",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj(["list"], list=_ID),
    },
    {
        "name": "change_tier",
        "label": "Set / change tier",
        "family": "action",
        "branches": _ACTION,
        "module": "tiers",
        "schema": _obj(["tier"], tier=_NAME, structure={"type": "string", "maxLength": 64}, reason=_REASON),
    },
    {
        "name": "remove_tier",
        "label": "Remove tier",
        "family": "action",
        "branches": _ACTION,
        "module": "tiers",
        "help": "Takes the customer out of a tier structure (a tier_remove event: no tier, no lock, "
        "until the next evaluation places them by their tier points); failure when the customer has "
        "no tier there, or holds another tier than the one named.",
        "schema": _obj(
            [],
            structure={"type": "string", "maxLength": 64, "title": "Structure (empty: the first)"},
            tier={"type": "string", "maxLength": 64, "title": "Only when the customer holds this tier"},
            reason=_REASON,
        ),
    },
    {
        "name": "referral_bonus",
        "label": "Referral bonus",
        "family": "action",
        "branches": _ACTION,
        "module": "referrals",
        "help": "Points for the advocate who referred this customer (a referral_bonus event on the "
        "advocate, data.friend = this customer); failure when nobody referred the customer.",
        "schema": _obj(["points"], points=_POINTS, reason=_REASON),
    },
    {
        "name": "webhook_message",
        "label": "Webhook message",
        "family": "action",
        "branches": _ACTION,
        "module": "webhooks",
        "help": "Sends a message to a trusted site (webhooks.delivery: signed, retried, in the webhook "
        "log and the customer's Sync tab); failure when the site is missing or inactive or the path "
        "or body is refused. The path is a template; the body a Jinja template with {{ }} only.",
        "schema": _obj(
            ["site", "path"],
            site={**_NAME, "title": "Trusted site (name)"},
            path={
                "type": "string",
                "maxLength": 1000,
                "x-expression": "template",
                "description": "below the site's URL, e.g. /customers/{customer.id}",
            },
            body={
                "type": "string",
                "maxLength": 10000,  # loyalty.expressions.MAX_SOURCE, as a subscription's payload
                "x-expression": "jinja",
                "description": 'e.g. {"id": {{ customer.id | tojson }}, "points": {{ event.points }}}',
            },
        ),
    },
    {
        "name": "trigger_event",
        "label": "Trigger event",
        "family": "action",
        "branches": _ACTION,
        "help": "Registers a built-in or custom event on the customer; attribute values are templates.",
        "schema": _obj(
            ["action"],
            action={"type": "string", "minLength": 1, "maxLength": 64},
            data={
                "type": "object",
                "maxProperties": 30,
                "additionalProperties": {"type": "string", "maxLength": 1000, "x-expression": "template"},
            },
        ),
    },
    {
        "name": "reward_claim",
        "label": "Reward claim",
        "family": "action",
        "branches": _ACTION,
        "module": "rewards",
        "schema": _obj(["reward"], reward={"type": "string", "minLength": 1, "maxLength": 64}),
    },
    {
        "name": "suspend",
        "label": "Suspend",
        "family": "action",
        "branches": _ACTION,
        "schema": _obj([], reason=_REASON),
    },
    {
        "name": "modify_customer",
        "label": "Modify customer",
        "family": "modifier",
        "branches": ("modifier", "action"),
        "help": "Sets customer attributes; values are templates. On the modifier branch the change is "
        "part of the triggering event (same transaction, before the event's own attributes apply; an "
        "Interrupt undoes it); on the action branch it is a profile event of its own.",
        "schema": _obj(
            ["set"],
            set={
                "type": "object",
                "minProperties": 1,
                "maxProperties": 30,
                "additionalProperties": {"type": "string", "maxLength": 1000, "x-expression": "template"},
            },
        ),
    },
    {
        "name": "ab_test",
        "label": "A/B test",
        "family": "action",
        "branches": _ACTION,
        "outputs": (),
        "help": "Sends each run down one variant by weight; sticky: the same customer always gets the same one.",
        "schema": _obj(
            ["variants"],
            variants={
                "type": "array",
                "minItems": 2,
                "maxItems": 5,
                "items": _obj(
                    ["name", "weight"],
                    name={"type": "string", "pattern": "^[a-z0-9_]{1,20}$"},
                    weight={"type": "integer", "minimum": 0, "maximum": 100},
                ),
            },
            sticky={"type": "boolean", "default": True},
        ),
    },
    # --- modifiers (the Event trigger's modifier branch) --------------------------------------------
    {
        "name": "interrupt",
        "label": "Interrupt",
        "family": "modifier",
        "branches": _MODIFIER,
        "outputs": (),
        "help": "The triggering event is not stored; the API answers with this 5-digit code and message.",
        "schema": _obj(
            ["code", "message"],
            code={"type": "integer", "minimum": 10000, "maximum": 99999},
            message={"type": "string", "minLength": 1, "maxLength": 500, "x-expression": "template"},
        ),
    },
    {
        "name": "modify_event",
        "label": "Modify event",
        "family": "modifier",
        "branches": _MODIFIER,
        "help": "Sets attributes of the triggering event before it is stored; values are expressions.",
        "schema": _obj(
            ["set"],
            set={
                "type": "object",
                "minProperties": 1,
                "maxProperties": 30,
                "additionalProperties": {"type": ["string", "number"], "x-expression": "expression"},
            },
        ),
    },
    {
        "name": "modify_coupon",
        "label": "Modify coupon",
        "family": "modifier",
        "branches": _ACTION,
        "help": "Changes the expiration date of one of the customer's coupons (a coupon_expiration_change event).",
        "schema": _obj(
            ["code", "expiration_date"],
            code={"type": "string", "maxLength": 200, "x-expression": "template"},
            expiration_date={
                "type": "string",
                "maxLength": 200,
                "x-expression": "template",
                "title": "New expiration date",
            },
        ),
    },
    # --- flow control ---------------------------------------------------------------------------------
    {
        "name": "wait",
        "label": "Wait",
        "family": "flow",
        "branches": _ACTION,
        "outputs": ("then",),
        "help": "Parks the run for minutes / hours / days (1 minute to 5 years) or until a date.",
        "schema": _obj(
            [],
            amount={"type": "integer", "minimum": 1, "maximum": 2628000},
            unit={"type": "string", "enum": ["minutes", "hours", "days"]},
            until={"type": "string", "format": "date-time", "title": "Until (instead of an amount)"},
        ),
    },
    {
        "name": "variable_assign",
        "label": "Variable assign",
        "family": "flow",
        "outputs": ("success",),
        "schema": _obj(
            ["name", "value"],
            name={"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
            value={"type": ["string", "number"], "x-expression": "expression"},
        ),
    },
]
