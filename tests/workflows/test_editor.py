"""The editor's node forms: condition trees in the segment editor's builder (the one condition UI),
the last save's errors on their fields, and the builder's tree keeping its meaning."""

import json

import pytest
from django.urls import reverse

from segments.forms import groups_to_tree, tree_to_groups

pytestmark = pytest.mark.django_db

TREE = {
    "match": "any",
    "conditions": [
        {"match": "all", "conditions": [{"field": "points", "operator": "ge", "value": "500"}]},
        {"match": "any", "conditions": [{"field": "store", "operator": "eq", "value": "web"}]},
    ],
}


def _form(client, kind, config=None, errors=None):
    params = {"type": kind, "config": json.dumps(config or {})}
    if errors is not None:
        params["errors"] = json.dumps(errors)
    return client.get(reverse("workflows:node_form"), params)


@pytest.mark.parametrize("kind", ["filter_event", "filter_customer", "filter_variable", "date_trigger"])
def test_condition_trees_use_the_segment_builder(admin_client, program, kind):
    field = "prefilter" if kind == "date_trigger" else "conditions"
    response = _form(admin_client, kind, {field: TREE})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-condition-tree="{field}"' in html
    assert response.context["rows"][[r["field"].name for r in response.context["rows"]].index(field)]["tree"]
    assert html.count('data-testid="condition-group"') == 2
    assert "points:ge:500" in html and "store:eq:web" in html
    assert f'name="cfg-{field}-group-1-match"' in html
    assert 'data-add-group data-testid="add-group"' in html  # a script button, not a form submit


def test_a_tree_deeper_than_the_builder_stays_json(admin_client, program):
    deep = {"match": "all", "conditions": [{"match": "any", "conditions": [TREE]}]}
    html = _form(admin_client, "filter_event", {"conditions": deep}).content.decode()
    assert "data-condition-tree" not in html and 'name="cfg-conditions"' in html and "data-json" in html


def test_the_last_saves_errors_are_shown_on_their_fields(admin_client, program):
    errors = [
        {"message": "Event attribute: “points>5” is not a condition", "field": "conditions.conditions[0]"},
        {"message": "Event attribute: its outputs lead nowhere.", "field": "output"},
        {"message": "Not reachable from the trigger.", "field": None},
    ]
    response = _form(admin_client, "filter_event", {"conditions": TREE}, errors)
    html = response.content.decode()
    assert 'data-testid="tree-field-errors"' in html and "is not a condition" in html
    assert 'data-testid="node-form-errors"' in html  # the others above the fields
    assert "lead nowhere" in html and "Not reachable" in html
    campaign = _form(
        admin_client, "point_add", {"points": "{{ 1 + }}"}, [{"message": "does not parse", "field": "points"}]
    )
    assert campaign.context["form"].errors["points"] == ["does not parse"]
    assert 'class="field has-error"' in campaign.content.decode()


def test_a_line_the_builder_could_not_read_is_shown_as_typed(admin_client, program):
    tree = {
        "match": "all",
        "conditions": [{"match": "any", "conditions": [TREE["conditions"][0]["conditions"][0], "points>5"]}],
    }
    response = _form(admin_client, "filter_event", {"conditions": tree})
    group = response.context["rows"][0]["tree"]["groups"][0]
    assert group == {"match": "any", "lines": "points:ge:500\npoints>5", "index": 0}


def test_malformed_parameters_are_ignored_not_a_500(admin_client, program):
    response = admin_client.get(
        reverse("workflows:node_form"), {"type": "filter_event", "config": "{", "errors": "[1, {"}
    )
    assert response.status_code == 200 and "data-condition-tree" in response.content.decode()
    assert admin_client.get(reverse("workflows:node_form"), {"type": "nope"}).status_code == 404


@pytest.mark.parametrize(
    "tree",
    [
        TREE,
        {
            "match": "any",
            "conditions": [
                {"field": "a", "operator": "eq", "value": "1"},
                {"field": "b", "operator": "eq", "value": "2"},
            ],
        },
        {
            "match": "any",
            "conditions": [
                {"field": "a", "operator": "eq", "value": "1"},
                {"match": "all", "conditions": [{"field": "b", "operator": "eq", "value": "2"}]},
            ],
        },
    ],
)
def test_the_builder_keeps_a_trees_meaning(tree):
    """Loose conditions of an "any" tree stay OR-ed (they were put in an AND group before)."""
    match, groups = tree_to_groups(tree)
    rebuilt, errors = groups_to_tree(match, groups)
    assert not errors
    assert _truth(rebuilt) == _truth(tree)


def _truth(tree):
    """The tree's value on every assignment of its leaves (a, b, points, store) to True / False."""
    import itertools

    names = sorted({leaf["field"] for leaf in _leaves(tree)})
    return [
        _eval(tree, dict(zip(names, values, strict=True)))
        for values in itertools.product([0, 1], repeat=len(names))
    ]


def _leaves(node):
    for child in node["conditions"]:
        if "conditions" in child:
            yield from _leaves(child)
        else:
            yield child


def _eval(node, values):
    results = [
        _eval(c, values) if "conditions" in c else bool(values[c["field"]]) for c in node["conditions"]
    ]
    return all(results) if node.get("match", "all") == "all" else any(results)


def test_the_remove_tier_form_is_generated_from_its_schema(admin_client, program):
    """Its fields come from the node's JSON Schema (workflows.nodes.schemas), none by hand; a
    saved configuration is filled in."""
    from workflows.nodes import REGISTRY

    response = _form(admin_client, "remove_tier", {"structure": "basic", "tier": "gold"})
    assert response.status_code == 200
    html = response.content.decode()
    for name, prop in REGISTRY["remove_tier"].schema["properties"].items():
        assert f'name="cfg-{name}"' in html, name
        if prop.get("title"):
            assert prop["title"] in html
    assert 'value="gold"' in html and 'value="basic"' in html
