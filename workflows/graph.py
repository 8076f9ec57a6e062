"""A workflow's graph (JSON) and its validation on save.

Shape (stored in WorkflowVersion.graph)::

    {"nodes": [{"id": "trigger", "type": "event_trigger", "config": {"action": "point_add"},
                "x": 40, "y": 80},
               {"id": "double", "type": "campaign_bonus", "config": {"points": "{event.points}"}}],
     "edges": [{"from": "trigger", "output": "action", "to": "double"}]}

`validate_graph` refuses, with a message on the node (and field) at fault: a shape that is not
this, more than MAX_NODES nodes / MAX_EDGES edges / MAX_FAN_OUT edges from one output, unknown
node types, configurations their JSON Schema refuses (workflows.nodes), expressions that do not
parse or reach outside the sandbox, condition trees the condition language refuses, a trigger on
an action that does not exist, a Trigger event of an action no workflow may register (internal or
console-only), a node on a branch it may not stand on (Interrupt after commit,
an action before the event is stored), edges from outputs a node does not have, cycles,
unreachable nodes, filters / waits / A/B tests whose outputs all lead nowhere, waits longer
than MAX_WAIT (an amount, or a date that far ahead; a date that does not parse), and a NUL
character in any key or string of a configuration (PostgreSQL's jsonb cannot store it).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

from customers.attributes import EVENT_KEYS
from customers.fields import custom_fields
from customers.models import BUILTIN_ATTRIBUTES, READ_ONLY_ATTRIBUTES
from events import catalog, definitions
from loyalty import expressions
from segments import conditions as cond

from .nodes import REGISTRY, TRIGGERS

MAX_NODES = 100
MAX_EDGES = 300
MAX_FAN_OUT = 10
MAX_WAIT = dt.timedelta(days=5 * 366)
NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
UNITS = {"minutes": dt.timedelta(minutes=1), "hours": dt.timedelta(hours=1), "days": dt.timedelta(days=1)}
# `format` is checked (dates of triggers; date-time needs a package jsonschema lacks here: see wait).
_VALIDATORS = {
    name: Draft202012Validator(node.schema, format_checker=FormatChecker()) for name, node in REGISTRY.items()
}


@dataclass
class GraphError:
    message: str
    node: str | None = None
    field: str | None = None

    def as_dict(self) -> dict:
        return {"message": self.message, "node": self.node, "field": self.field}


class InvalidGraph(ValueError):
    def __init__(self, errors: list[GraphError]):
        super().__init__("; ".join(e.message for e in errors[:3]))
        self.errors = errors


class Graph:
    """Read access to a stored (already valid) graph."""

    def __init__(self, data: dict):
        self.data = data
        self.nodes: dict[str, dict] = {n["id"]: n for n in data.get("nodes", [])}
        self.out: dict[tuple[str, str], list[str]] = {}
        for edge in data.get("edges", []):
            self.out.setdefault((edge["from"], edge["output"]), []).append(edge["to"])
        self.trigger = next((n for n in self.nodes.values() if n["type"] in TRIGGERS), None)

    def targets(self, node_id: str, output: str) -> list[str]:
        return self.out.get((node_id, output), [])

    def has_branch(self, output: str) -> bool:
        return bool(self.trigger and self.targets(self.trigger["id"], output))


def trigger_of(data: dict) -> tuple[str, str]:
    """(trigger type name, event action or "") of a valid graph."""
    trigger = Graph(data).trigger or {"type": "", "config": {}}
    return trigger["type"], (trigger.get("config") or {}).get("action", "") if trigger[
        "type"
    ] == "event_trigger" else ""


def wait_delta(config: dict) -> dt.timedelta | None:
    if config.get("amount") is None:
        return None
    return UNITS[config.get("unit") or "minutes"] * int(config["amount"])


def validate_graph(data, *, in_campaign: bool = False) -> dict:
    """The graph, normalized (ids, types, configs, positions). Raises InvalidGraph listing every error."""
    errors: list[GraphError] = []
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("nodes"), list)
        or not isinstance(data.get("edges", []), list)
    ):
        raise InvalidGraph([GraphError('A graph is an object with a "nodes" list and an "edges" list.')])
    nodes_in, edges_in = data["nodes"], data.get("edges", [])
    if len(nodes_in) > MAX_NODES:
        raise InvalidGraph([GraphError(f"A workflow has at most {MAX_NODES} nodes.")])
    if len(edges_in) > MAX_EDGES:
        raise InvalidGraph([GraphError(f"A workflow has at most {MAX_EDGES} connections.")])
    nodes: dict[str, dict] = {}
    for index, raw in enumerate(nodes_in):
        if not isinstance(raw, dict):
            errors.append(GraphError(f"Node {index + 1} is not an object."))
            continue
        node_id, kind, config = raw.get("id"), raw.get("type"), raw.get("config", {})
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            errors.append(GraphError(f"Node {index + 1}: an id is 1-40 letters, digits, - or _.", field="id"))
            continue
        if node_id in nodes:
            errors.append(GraphError(f"Two nodes have the id {node_id!r}.", node_id, "id"))
            continue
        if not isinstance(kind, str) or kind not in REGISTRY:  # a list was unhashable: a 500
            errors.append(GraphError(f"Unknown node type {kind!r}.", node_id, "type"))
            continue
        if not isinstance(config, dict):
            errors.append(GraphError("The configuration must be an object.", node_id, "config"))
            continue
        node = {"id": node_id, "type": kind, "config": config}
        for axis in ("x", "y"):  # a position only; 1e400 (infinite) or NaN is dropped, not int()ed
            if (
                isinstance(raw.get(axis), int | float)
                and not isinstance(raw.get(axis), bool)
                and math.isfinite(raw[axis])
            ):
                node[axis] = max(-100000, min(100000, int(raw[axis])))
        nodes[node_id] = node
        nul = _nul_path(config)  # PostgreSQL's jsonb cannot store one: refused here, not a 500
        if nul is not None:
            errors.append(GraphError("A value contains a NUL character.", node_id, nul or "config"))
        else:
            errors.extend(_check_config(node, in_campaign))
    triggers = [n for n in nodes.values() if n["type"] in TRIGGERS]
    if len(triggers) != 1:
        errors.append(GraphError("A workflow has exactly one trigger."))
    edges, seen = [], set()
    fan_out: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(edges_in):
        if not isinstance(raw, dict):
            errors.append(GraphError(f"Connection {index + 1} is not an object."))
            continue
        source, output, target = raw.get("from"), raw.get("output"), raw.get("to")
        if (
            not isinstance(source, str)
            or not isinstance(target, str)
            or source not in nodes
            or target not in nodes
        ):
            errors.append(GraphError(f"Connection {index + 1} joins a node that does not exist."))
            continue
        kind = REGISTRY[nodes[source]["type"]]
        if output not in kind.outputs_for(nodes[source]["config"]):
            errors.append(GraphError(f"{kind.label} has no output {output!r}.", source, "output"))
            continue
        if nodes[target]["type"] in TRIGGERS:
            errors.append(GraphError("Nothing connects into the trigger.", target))
            continue
        if (source, output, target) in seen:
            continue
        seen.add((source, output, target))
        fan_out[(source, output)] = fan_out.get((source, output), 0) + 1
        if fan_out[(source, output)] > MAX_FAN_OUT:
            errors.append(
                GraphError(f"At most {MAX_FAN_OUT} connections leave one output.", source, "output")
            )
            continue
        edges.append({"from": source, "output": output, "to": target})
    graph = {"nodes": list(nodes.values()), "edges": edges}
    if len(triggers) == 1:
        errors.extend(_check_structure(Graph(graph), nodes))
    if errors:
        raise InvalidGraph(errors)
    return graph


def _nul_path(value, path: str = "") -> str | None:
    """The path ("label", "conditions.conditions[0].value") of the first key or string holding a
    NUL character in a node's configuration; None when there is none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path or "config"
            found = _nul_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _check_config(node: dict, in_campaign: bool) -> list[GraphError]:
    kind = REGISTRY[node["type"]]
    config = node["config"]
    found = [
        GraphError(
            f"{kind.label}: {error.message}",
            node["id"],
            ".".join(str(p) for p in error.absolute_path) or None,
        )
        for error in _VALIDATORS[kind.name].iter_errors(config)
    ][:5]
    if found:
        return found
    for name, mode in kind.expression_fields:
        values = (
            [(f"{name[:-2]}.{k}", v) for k, v in (config.get(name[:-2]) or {}).items()]
            if name.endswith(".*")
            else [(name, config.get(name))]
        )
        for where, value in values:
            if value is None or value == "":
                continue
            try:
                if mode == "expression":
                    expressions.check_expression(value)
                else:
                    expressions.check_template(value, single_braces=mode == "template")
            except expressions.ExpressionError as error:
                found.append(GraphError(f"{kind.label}: {error.message}", node["id"], where))
    if "conditions" in kind.schema["properties"] or "prefilter" in config:
        tree = config.get("conditions") or config.get("prefilter")
        if tree is not None:
            found.extend(_check_tree(node, kind, tree))
    if kind.name in ("event_trigger", "historical_trigger", "trigger_event") and not _action_exists(
        config.get("action")
    ):
        found.append(
            GraphError(f"{kind.label}: there is no event {config.get('action')!r}.", node["id"], "action")
        )
    if kind.name == "trigger_event":
        found.extend(_check_registrable(node["id"], config.get("action")))
    if kind.name == "date_trigger":
        needs = {"once": "date", "yearly": "date", "weekly": "weekday", "monthly": "day"}.get(
            config["repeat"]
        )
        if needs and config.get(needs) in (None, ""):
            found.append(
                GraphError(f"On a date: a {config['repeat']} trigger needs its {needs}.", node["id"], needs)
            )
    if kind.name == "wait":
        delta = wait_delta(config)
        if (delta is None) == (not config.get("until")):
            found.append(
                GraphError("Wait: give an amount and unit, or a date (not both).", node["id"], "amount")
            )
        elif delta is not None and delta > MAX_WAIT:
            found.append(GraphError("Wait: at most 5 years.", node["id"], "amount"))
        elif config.get("until"):
            found.extend(_check_until(node["id"], config["until"]))
    if kind.name == "ab_test":
        variants = config["variants"]
        if len({v["name"] for v in variants}) != len(variants):
            found.append(GraphError("A/B test: variant names must differ.", node["id"], "variants"))
        if sum(v["weight"] for v in variants) != 100:
            found.append(GraphError("A/B test: the weights add up to 100.", node["id"], "variants"))
    if kind.name == "modify_customer":
        found.extend(_check_customer_keys(node["id"], config["set"]))
    if kind.name == "campaign_bonus" and not in_campaign:
        found.append(GraphError("Campaign bonus: only a campaign's workflows give one.", node["id"]))
    return found


def _check_customer_keys(node_id: str, values: dict) -> list[GraphError]:
    """Modify customer's attribute names, as customers.attributes.apply_attributes takes them from
    a profile event: an unknown or read-only one failed every run (it was saved and activated)."""
    fields = custom_fields()
    event_keys = EVENT_KEYS | {attr.name for attr in catalog.extension_attrs("profile")}
    errors = []
    for name in values:
        if name in event_keys:
            continue
        if name in READ_ONLY_ATTRIBUTES or (name in fields and fields[name].read_only):
            problem = "is read-only"
        elif name in BUILTIN_ATTRIBUTES or name in ("labels", "referrer") or name in fields:
            continue
        else:
            problem = "is not a customer attribute"
        errors.append(GraphError(f"Modify customer: {str(name)[:64]!r} {problem}.", node_id, "set"))
    return errors[:5]


def _check_until(node_id: str, text: str) -> list[GraphError]:
    """A Wait's date: a date-time (ISO 8601; without an offset it is in the program's time zone)
    at most MAX_WAIT from now (the real time: a sandbox clock only runs ahead of it by days)."""
    try:
        until = parse_datetime(text)
    except ValueError:
        until = None
    if until is None:
        return [GraphError("Wait: the date is not a date and time (2026-12-24T18:00).", node_id, "until")]
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    if until - timezone.now() > MAX_WAIT:
        return [GraphError("Wait: at most 5 years.", node_id, "until")]
    return []


def _check_tree(node: dict, kind, tree) -> list[GraphError]:
    try:
        group = cond.parse_tree(tree)
        if kind.name in ("filter_customer", "date_trigger"):
            cond.compile_tree(group)  # attributes, operators and values of the customer language
        else:
            for leaf in group.leaves():
                if leaf.operator not in cond.OPERATORS:
                    raise cond.ConditionError(f"Unknown operator {leaf.operator!r}.", "operator")
    except cond.ConditionError as error:
        field = "prefilter" if kind.name == "date_trigger" else "conditions"
        return [
            GraphError(
                f"{kind.label}: {error.message}", node["id"], f"{field}.{error.field or ''}".rstrip(".")
            )
        ]
    return []


def _check_registrable(node_id: str, action) -> list[GraphError]:
    """Trigger event registers with source automation (workflows.actions.trigger_event): an
    internal event (the engine's own, e.g. tier_review or campaign_bonus, which has a node of its
    own) or a console-only one (ban / unban) is refused by events.engine.check_call on every run."""
    spec = definitions.BUILTIN_ACTIONS.get(action) if isinstance(action, str) else None
    if spec is None:
        return []
    if spec.internal:
        why = "is an internal event: no workflow can register it"
    elif spec.console_only:
        why = "can only be registered from the console"
    else:
        return []
    return [GraphError(f"Trigger event: {action!r} {why}.", node_id, "action")]


def _action_exists(action) -> bool:
    if not isinstance(action, str):
        return False
    return action in definitions.BUILTIN_ACTIONS or action in catalog.custom_specs()


def _check_structure(graph: Graph, nodes: dict[str, dict]) -> list[GraphError]:
    errors: list[GraphError] = []
    trigger = graph.trigger
    assert trigger is not None
    # Cycles (depth-first, colours).
    state: dict[str, int] = {}

    def visit(node_id: str) -> bool:
        state[node_id] = 1
        for (source, _output), targets in graph.out.items():
            if source != node_id:
                continue
            for target in targets:
                if state.get(target) == 1 or (state.get(target) is None and visit(target)):
                    return True
        state[node_id] = 2
        return False

    if any(state.get(n) is None and visit(n) for n in nodes):
        errors.append(GraphError("The workflow has a loop; connections must lead forward."))
        return errors
    # Branches: what each node is reached from.
    branch_of: dict[str, set[str]] = {}
    for output in REGISTRY[trigger["type"]].outputs:
        branch = "modifier" if output == "modifier" else "action"
        stack = list(graph.targets(trigger["id"], output))
        while stack:
            node_id = stack.pop()
            if branch in branch_of.setdefault(node_id, set()):
                continue
            branch_of[node_id].add(branch)
            node = nodes[node_id]
            for out in REGISTRY[node["type"]].outputs_for(node["config"]):
                stack.extend(graph.targets(node_id, out))
    for node_id, node in nodes.items():
        kind = REGISTRY[node["type"]]
        if node_id == trigger["id"]:
            if not any(graph.targets(node_id, o) for o in kind.outputs):
                errors.append(GraphError("Connect the trigger to a first node.", node_id))
            continue
        reached = branch_of.get(node_id)
        if not reached:
            errors.append(GraphError(f"{kind.label}: not reachable from the trigger.", node_id))
            continue
        if len(reached) > 1:
            errors.append(GraphError(f"{kind.label}: on both the modifier and the action branch.", node_id))
        for branch in reached:
            if branch not in kind.branches:
                where = "before the event is stored" if branch == "modifier" else "after the event is stored"
                errors.append(GraphError(f"{kind.label} cannot run {where}.", node_id))
        outputs = kind.outputs_for(node["config"])
        if kind.family == "filter" or kind.name in ("wait", "ab_test"):
            if outputs and not any(graph.targets(node_id, o) for o in outputs):
                errors.append(GraphError(f"{kind.label}: its outputs lead nowhere.", node_id, "output"))
    return errors
