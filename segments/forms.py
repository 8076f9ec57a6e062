"""Console forms of segments and lists.

The segment editor edits a two-level tree: the segment matches "all" or "any" of its groups, and
each group matches "all" or "any" of its conditions, one per line in the filter bar's syntax
``field:op:value`` (deeper trees come from the API and are shown read-only as JSON). The POST
fields are ``name``, ``description``, ``match`` and, per group N, ``group-N-match`` and
``group-N-conditions``.
"""

from __future__ import annotations

import re

from django import forms

from .building import validate_definition
from .conditions import Condition, ConditionError, Group, parse_tree
from .models import CustomerList, Segment

MATCH_CHOICES = [("all", "all (AND)"), ("any", "any (OR)")]
_GROUP_FIELD = re.compile(r"^group-(\d{1,2})-(match|conditions)$")
_PATH = re.compile(r"^conditions\[(\d+)\](?:\.conditions\[(\d+)\])?")


def tree_to_groups(data) -> tuple[str, list[dict]] | None:
    """(match, [{match, lines}]) for the editor, or None for a tree deeper than two levels."""
    try:
        tree = parse_tree(data or {"match": "all", "conditions": []})
    except ConditionError:
        return None
    groups = []
    loose = [c for c in tree.conditions if not isinstance(c, Group)]
    if loose:  # one group with the tree's own match: any(a, b, G) == any(any(a, b), G), and so for all
        groups.append({"match": tree.match, "lines": "\n".join(str(c) for c in loose)})
    for child in tree.conditions:
        if isinstance(child, Group):
            if any(isinstance(c, Group) for c in child.conditions):
                return None
            groups.append({"match": child.match, "lines": "\n".join(str(c) for c in child.conditions)})
    return tree.match, groups or [{"match": "all", "lines": ""}]


def groups_from_post(data) -> tuple[str, list[dict]]:
    """(match, [{match, lines}]) from the editor's POST, groups in field order."""
    found: dict[int, dict] = {}
    for key in data:
        matched = _GROUP_FIELD.match(key)
        if matched:
            group = found.setdefault(int(matched.group(1)), {"match": "all", "lines": ""})
            value = data.get(key, "")
            if matched.group(2) == "match":
                group["match"] = value if value in ("all", "any") else "all"
            else:
                group["lines"] = value
    match = data.get("match", "all")
    return (match if match in ("all", "any") else "all"), [found[k] for k in sorted(found)]


def groups_to_tree(match: str, groups: list[dict]) -> tuple[dict, list[str]]:
    """The tree of the editor's groups, and line-level syntax errors ("Group 2, line 1: ...")."""
    errors = []
    children = []
    for g_index, group in enumerate(groups):
        leaves = []
        for l_index, line in enumerate(str(group["lines"]).splitlines()):
            if not line.strip():
                continue
            try:
                leaves.append(Condition.parse(line.strip()).as_dict())
            except ConditionError as error:
                errors.append(f"Group {g_index + 1}, line {l_index + 1}: {error.message}")
        if leaves:
            children.append({"match": group["match"], "conditions": leaves})
    return {"match": match, "conditions": children}, errors


def describe_path(path: str | None, tree: dict) -> str:
    """“Group 2, condition 1” for ``conditions[1].conditions[0].value``."""
    matched = _PATH.match(path or "")
    if not matched:
        return "Definition"
    group, line = int(matched.group(1)), matched.group(2)
    if line is None:
        return f"Group {group + 1}"
    return f"Group {group + 1}, condition {int(line) + 1}"


def check_tree(segment_pk: int | None, match: str, groups: list[dict]) -> tuple[dict, list[str]]:
    """(tree, errors): syntax errors per line, else the compiler's first error with its place."""
    tree, errors = groups_to_tree(match, groups)
    if errors:
        return tree, errors
    try:
        validate_definition(segment_pk, tree)
    except ConditionError as error:
        return tree, [f"{describe_path(error.field, tree)}: {error.message}"]
    return tree, []


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or "\x00" in name:
            raise forms.ValidationError("Enter a name.")
        return name

    def clean_description(self):
        value = self.cleaned_data.get("description") or ""
        if "\x00" in value:
            raise forms.ValidationError("The description contains a NUL character.")
        return value


class CustomerListForm(forms.ModelForm):
    class Meta:
        model = CustomerList
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or "\x00" in name:
            raise forms.ValidationError("Enter a name.")
        return name


class AddMemberForm(forms.Form):
    customer = forms.CharField(
        label="Customer", max_length=300, help_text="customer ID, e-mail address or name, or field:value"
    )
    reason = forms.CharField(required=False, max_length=1000)

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        if "\x00" in value:
            raise forms.ValidationError("The value contains a NUL character.")
        return value


class RemoveMemberForm(forms.Form):
    reason = forms.CharField(required=False, max_length=1000)


class BulkForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("customer_add", "Add customers"), ("customer_remove", "Remove customers")]
    )
    customers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), help_text="one customer ID (or field:value) per line"
    )
    reason = forms.CharField(required=False, max_length=1000)

    def clean_customers(self):
        lines = [line.strip() for line in self.cleaned_data["customers"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError("Give at least one customer ID.")
        return lines


class ImportForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="name of the new static segment")
    file = forms.FileField(help_text="CSV, UTF-8: a header row `customer_id` (or an external-ID field name)")
