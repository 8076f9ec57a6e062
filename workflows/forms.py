"""Console forms: workflow settings, campaigns, and each node's configuration form, generated
from the node's JSON Schema (workflows.nodes) — the editor shows these, nothing hand-written."""

from __future__ import annotations

import json

from django import forms

from .models import Campaign, Workflow
from .nodes import REGISTRY


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

    def __init__(self, *args, environment: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.filter(environment=environment)
        self.fields["campaign"].required = False

    def clean_graph(self):
        text = self.cleaned_data["graph"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(f"The graph is not valid JSON: {error}") from None


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

    def clean(self):
        data = super().clean()
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
            value = json.loads(self.cleaned_data["data"] or "{}")
        except ValueError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from None
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


def node_form(kind: str, config: dict | None = None) -> forms.Form:
    """The unbound form showing `config` (objects and lists as JSON text)."""
    initial = {
        key: json.dumps(value) if isinstance(value, dict | list) else value
        for key, value in (config or {}).items()
    }
    return node_form_class(kind)(initial=initial, prefix="cfg")
