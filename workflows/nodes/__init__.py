"""The node types: one machine-readable contract each (a JSON Schema for its configuration).

The editor's form (workflows.forms.node_form), the graph validation on save and the API
(workflows.graph.validate_graph), and the reference page docs/workflow-nodes.md
(`python -m workflows.nodes.docs`) are all generated from `REGISTRY`; there is no second
description of a node. Each node type says:

- ``family``: trigger, filter, action, modifier or flow (reference §1.2);
- ``outputs``: the named outputs (``success`` / ``failure``; ``then`` after a wait; the Event
  trigger's ``modifier`` and ``action``; an A/B test's outputs are its variants' names);
- ``branches``: where it may stand — the Event trigger's ``modifier`` branch (inside the engine's
  transaction, before the event is stored) and/or the ``action`` branch (after commit, on the
  task queue);
- ``schema``: the JSON Schema of its ``config``; string properties with ``"x-expression":
  "template"``, ``"jinja"`` (double braces only: a JSON payload) or ``"expression"`` are checked by loyalty.expressions on save.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .schemas import NODE_TYPES


@dataclass(frozen=True)
class NodeType:
    name: str
    label: str
    family: str
    schema: dict
    outputs: tuple[str, ...] = ("success", "failure")
    branches: tuple[str, ...] = ("modifier", "action")
    help: str = ""
    module: str | None = None  # a Program module that must be on
    expression_fields: tuple[tuple[str, str], ...] = field(default=())

    def outputs_for(self, config: dict) -> tuple[str, ...]:
        if self.name == "ab_test":
            return tuple(str(v.get("name")) for v in config.get("variants") or () if isinstance(v, dict))
        return self.outputs


def _expression_fields(schema: dict, prefix: str = "") -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("x-expression")
        if kind:
            found.append((prefix + name, kind))
        if prop.get("type") == "object" and "additionalProperties" in prop:
            extra = prop["additionalProperties"]
            if isinstance(extra, dict) and extra.get("x-expression"):
                found.append((prefix + name + ".*", extra["x-expression"]))
    return tuple(found)


REGISTRY: dict[str, NodeType] = {
    spec["name"]: NodeType(**spec, expression_fields=_expression_fields(spec["schema"]))
    for spec in NODE_TYPES
}
TRIGGERS = {name: node for name, node in REGISTRY.items() if node.family == "trigger"}
FAMILIES = ("trigger", "filter", "action", "modifier", "flow")

__all__ = ["REGISTRY", "TRIGGERS", "FAMILIES", "NodeType"]
