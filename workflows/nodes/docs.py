"""docs/workflow-nodes.md, generated from the registry (tests/workflows/test_graph.py keeps the
file equal to `markdown()`; regenerate with `python -m workflows.nodes.docs > docs/workflow-nodes.md`
run from the project root)."""

from __future__ import annotations

import json

from . import FAMILIES, REGISTRY


def _type(prop: dict) -> str:
    kind = prop.get("type", "")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    if "enum" in prop:
        text += ": " + ", ".join(f"`{v}`" for v in prop["enum"])
    for key, word in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("maxLength", "max length"),
        ("pattern", "pattern"),
    ):
        if key in prop:
            text += f"; {word} {prop[key]}"
    if prop.get("x-expression"):
        text += f"; {prop['x-expression']}"
    return text


def markdown() -> str:
    lines = [
        "# Workflow nodes (generated)",
        "",
        "Generated from `workflows/nodes/schemas.py` by `workflows.nodes.docs.markdown()`; do not edit by hand.",
        "Each node's `config` is checked against its JSON Schema on save; fields marked *template* or",
        "*expression* are Jinja2 sandbox expressions (see [workflows.md](workflows.md)); a *jinja*",
        "field (a JSON payload) takes only `{{ }}` placeholders, so its own braces stay text.",
        "",
    ]
    for family in FAMILIES:
        lines.append(f"## {family.capitalize()} nodes")
        lines.append("")
        for node in (n for n in REGISTRY.values() if n.family == family):
            outputs = ", ".join(f"`{o}`" for o in node.outputs) or (
                "the variants' names" if node.name == "ab_test" else "none"
            )
            branches = ", ".join(node.branches) or "—"
            lines.append(f"### {node.label} (`{node.name}`)")
            lines.append("")
            if node.help:
                lines.append(node.help)
                lines.append("")
            lines.append(
                f"Outputs: {outputs}. Branches: {branches}."
                + (f" Module: {node.module}." if node.module else "")
            )
            lines.append("")
            required = set(node.schema.get("required", ()))
            props = node.schema.get("properties", {})
            if props:
                lines.append("| field | required | type |")
                lines.append("| --- | --- | --- |")
                for name, prop in props.items():
                    lines.append(f"| `{name}` | {'yes' if name in required else 'no'} | {_type(prop)} |")
                lines.append("")
            lines.append("<details><summary>JSON Schema</summary>")
            lines.append("")
            lines.append("```json")
            lines.append(json.dumps(node.schema, indent=1))
            lines.append("```")
            lines.append("")
            lines.append("</details>")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
