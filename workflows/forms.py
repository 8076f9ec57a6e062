"""Console forms: workflow settings, campaigns, and each node's configuration form, generated
from the node's JSON Schema (workflows.nodes) — the editor shows these, nothing hand-written."""

from __future__ import annotations

import json

from django import forms
from django.forms.utils import ErrorDict, ErrorList

from loyalty.api import strictjson
from loyalty.bounds import YEAR_MAX, YEAR_MIN
from loyalty.console.forms import AsciiIntegerField, IdChoiceField
from segments.conditions import NO_VALUE
from segments.forms import tree_to_groups

from .models import Campaign, Workflow
from .nodes import REGISTRY


def loads(text: str):
    """JSON typed into the console (a graph, a test run's event, an imported workflow) under the
    API's rules (loyalty.api.strictjson): nested at most 32 levels — deeper, Python's parser hits
    its recursion limit, a 500 — no NaN or Infinity, no duplicate keys; BodyError otherwise."""
    return strictjson.loads(text)


class WorkflowForm(forms.ModelForm):
    graph = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "data-graph-json": ""}),
        required=False,
        help_text="The graph as JSON (the editor above writes it; see docs/workflows.md).",
    )

    class Meta:
        model = Workflow
        fields = ("name", "description", "campaign", "priority")
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        field_classes = {"campaign": IdChoiceField, "priority": AsciiIntegerField}

    def __init__(self, *args, environment: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.filter(environment=environment)
        self.fields["campaign"].required = False

    def clean_graph(self):
        text = self.cleaned_data["graph"].strip()
        if not text:
            return None
        try:
            return loads(text)
        except strictjson.BodyError as error:
            raise forms.ValidationError(f"The graph is not valid JSON: {error.detail}") from None


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = (
            "name", "description", "starts_at", "ends_at", "max_bonus_points", "max_customer_points", "limit_behavior",
        )  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }
        field_classes = {"max_bonus_points": AsciiIntegerField, "max_customer_points": AsciiIntegerField}

    def clean(self):
        data = super().clean()
        for name in ("starts_at", "ends_at"):  # year 1 was stored BC on PostgreSQL: every page a 500
            if data.get(name) is not None and not YEAR_MIN <= data[name].year <= YEAR_MAX:
                self.add_error(name, f"Give a date between {YEAR_MIN} and {YEAR_MAX}.")
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end is after the start.")
        for name in ("max_bonus_points", "max_customer_points"):
            if data.get(name) is not None and data[name] < 0:
                self.add_error(name, "A cap is 0 (no bonus) or more; leave it empty for no cap.")
        return data


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A workflow exported as JSON.")


class TestRunForm(forms.Form):
    customer = forms.CharField(max_length=200, help_text="customer ID or field:value")
    data = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        initial="{}",
        required=False,
        help_text='The sample event\'s attributes as JSON, e.g. {"points": 100}.',
    )

    def clean_data(self):
        try:
            value = loads(self.cleaned_data["data"] or "{}")
        except strictjson.BodyError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.detail}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give an object of attributes.")
        return value


def _field(name: str, prop: dict, required: bool) -> forms.Field:
    label = prop.get("title") or name.replace("_", " ").capitalize()
    help_text = prop.get("description", "")
    if prop.get("x-expression") == "jinja":  # a JSON payload: only double braces are placeholders
        help_text = (
            help_text + " " if help_text else ""
        ) + "(jinja: {{ event.points }}, {{ customer.id | tojson }}…)"
    elif prop.get("x-expression"):
        help_text = (
            help_text + " " if help_text else ""
        ) + f"({prop['x-expression']}: {{event.points}}, {{customer.first_name}}…)"
    common = {"label": label, "required": required, "help_text": help_text}
    kind = prop.get("type")
    if "enum" in prop:
        return forms.ChoiceField(choices=[(v, v) for v in prop["enum"]], **common)
    if kind == "integer":
        return forms.IntegerField(min_value=prop.get("minimum"), max_value=prop.get("maximum"), **common)
    if kind == "number":
        return forms.FloatField(min_value=prop.get("minimum"), max_value=prop.get("maximum"), **common)
    if kind == "boolean":
        return forms.BooleanField(**{**common, "required": False})
    if kind in ("object", "array"):
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "data-json": ""}), **common
        )
    if prop.get("x-expression") == "jinja":
        widget = forms.Textarea(attrs={"rows": 6, "class": "mono"})
        return forms.CharField(max_length=prop.get("maxLength"), widget=widget, **common)
    return forms.CharField(max_length=prop.get("maxLength"), **common)


def node_form_class(kind: str) -> type[forms.Form]:
    """A Django form for the node type's configuration, built from its JSON Schema."""
    node = REGISTRY[kind]
    required = set(node.schema.get("required", ()))
    fields = {name: _field(name, prop, name in required) for name, prop in node.schema["properties"].items()}
    return type(f"{kind.title().replace('_', '')}Form", (forms.Form,), fields)


def node_form(kind: str, config: dict | None = None, errors: list[dict] | None = None) -> forms.Form:
    """The unbound form showing `config` (objects and lists as JSON text). `errors` are the save's
    errors of this node ({message, field}; workflows.graph.GraphError.as_dict): each is shown on
    the field its path starts with (``conditions.conditions[0]...`` on the condition builder),
    the others above the fields."""
    initial = {
        key: json.dumps(value) if isinstance(value, dict | list) else value
        for key, value in (config or {}).items()
    }
    form = node_form_class(kind)(initial=initial, prefix="cfg")
    found = ErrorDict()
    for error in errors or ():
        path = str(error.get("field") or "")
        name = path.split(".", 1)[0].split("[", 1)[0]
        key = name if name in form.fields else "__all__"
        found.setdefault(key, ErrorList()).append(str(error.get("message", "")))
    form._errors = found  # an unbound form showing the errors of the last save (never is_valid())
    return form


TREE_SUBJECTS = {
    "filter_event": ("The event matches", "points:ge:500, store:eq:web, action:in:purchase,checkout"),
    "filter_variable": ("The variables match", "visits:ge:3, channel:eq:app"),
}
CUSTOMER_EXAMPLE = (
    "country:eq:DE, score:ge:100, tier.main:eq:gold, label:eq:vip, balance.points.spendable:gt:0, "
    "purchase.last_30days.count:ge:1, events.login.60d:eq:0, birth_date:this_day"
)


def is_tree(prop: dict) -> bool:
    """A condition tree of the condition language (the node schemas' _TREE)."""
    return prop.get("type") == "object" and set(prop.get("properties", {})) == {"match", "conditions"}


def builder_groups(tree) -> tuple[str, list[dict]] | None:
    """segments.forms.tree_to_groups, keeping a line the editor could not read (kept as text in the
    tree, so the save names it) as it was typed, for the builder to show it again."""
    typed: dict[str, str] = {}

    def swap(node):
        if isinstance(node, dict) and isinstance(node.get("conditions"), list):
            return {**node, "conditions": [swap(child) for child in node["conditions"]]}
        if isinstance(node, str):
            key = f"⟨typed {len(typed)}⟩"
            typed[f"{key}:eq:"] = node
            return {"field": key, "operator": "eq", "value": ""}
        return node

    found = tree_to_groups(swap(tree) if tree is not None else None)
    if found is None:
        return None
    match, groups = found
    return match, [
        {**group, "lines": "\n".join(typed.get(line, line) for line in group["lines"].split("\n"))}
        for group in groups
    ]


def node_form_rows(kind: str, form: forms.Form, config: dict | None) -> list[dict]:
    """The form's fields in order; a condition tree the builder can show (two levels, as the
    segment editor) comes with its groups, a deeper one stays a JSON field."""
    node = REGISTRY[kind]
    subject, example = TREE_SUBJECTS.get(kind, ("Customers who match", CUSTOMER_EXAMPLE))
    rows = []
    for field in form.visible_fields():
        prop = node.schema["properties"].get(field.name, {})
        tree = None
        editable = builder_groups((config or {}).get(field.name)) if is_tree(prop) else None
        if editable is not None:
            match, groups = editable
            tree = {
                "prefix": f"cfg-{field.name}-",
                "subject": subject,
                "match": match,
                "groups": [dict(group, index=index) for index, group in enumerate(groups)],
                "errors": list(field.errors),
                "placeholder": f"one condition per line: {example}",
                "help": "attribute:operator:value, one per line (the condition language of segments; "
                f"operators without a value: {', '.join(NO_VALUE)}).",
            }
        rows.append({"field": field, "tree": tree})
    return rows
