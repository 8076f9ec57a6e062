"""The condition language's errors, parameterised attributes and segment cycles."""

import pytest

from segments.building import check_cycles, validate_definition
from segments.conditions import (
    Condition,
    ConditionError,
    available_attributes,
    compile_tree,
    parse_tree,
)
from segments.models import Segment


def tree(*conditions, match="all"):
    return {"match": match, "conditions": list(conditions)}


def leaf(field, operator, value=""):
    return {"field": field, "operator": operator, "value": value}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (tree(leaf("shoe", "eq", "1")), "conditions[0].field", "Unknown attribute “shoe”"),
        (tree(leaf("score", "contains", "1")), "conditions[0].operator", "does not apply"),
        (tree(leaf("score", "zz", "1")), "conditions[0].operator", "Unknown operator"),
        (tree(leaf("score", "ge", "lots")), "conditions[0].value", "not a whole number"),
        (tree(leaf("birth_date", "eq", "1990-13-01")), "conditions[0].value", "not a date"),
        (tree(leaf("birth_date", "days_ago_gt", "-3")), "conditions[0].value", "not a number of days"),
        (tree(leaf("email", "eq", "a\x00b")), "conditions[0].value", "NUL"),
        (tree(leaf("balance.nope.spendable", "ge", "1")), "conditions[0].field", "no point account"),
        (tree(leaf("balance.points.shiny", "ge", "1")), "conditions[0].field", "unknown balance"),
        (tree(leaf("purchase.someday.total", "ge", "1")), "conditions[0].field", "unknown period"),
        (tree(leaf("events.login.forever", "ge", "1")), "conditions[0].field", "N days"),
        (tree(leaf("segment", "eq", "999999")), "conditions[0].value", "no segment with ID 999999"),
        (tree(leaf("list", "eq", "abc")), "conditions[0].value", "not an ID"),
        (tree(leaf("score", "is_empty")), "conditions[0].operator", "does not apply"),
        (tree(leaf("balance.points.spendable", "is_empty")), "conditions[0].operator", "does not apply"),
        (
            tree(tree(leaf("score", "ge", "1"), leaf("score", "ge", "x"))),
            "conditions[0].conditions[1].value",
            "whole number",
        ),
        ({"match": "xor", "conditions": []}, "match", "“all”"),
        ({"match": "all", "conditions": "score"}, "conditions", "must be a list"),
        (tree("score:ge:1"), "conditions[0]", "must be an object"),
        (tree(leaf("", "eq", "1")), "conditions[0].field", "Choose an attribute"),
        (tree(leaf("score", "eq", {"a": 1})), "conditions[0].value", "text or a number"),
    ],
)
def test_bad_input_is_an_error_naming_the_field(program, data, field, message):
    with pytest.raises(ConditionError) as caught:
        compile_tree(data, available_attributes())
    assert caught.value.field == field
    assert message in caught.value.message


def test_depth_and_size_are_bounded(program):
    deep = tree(leaf("score", "ge", "1"))
    for _ in range(5):
        deep = tree(deep)
    with pytest.raises(ConditionError, match="nest at most"):
        parse_tree(deep)
    with pytest.raises(ConditionError, match="At most 50"):
        parse_tree(tree(*[leaf("score", "ge", "1")] * 51))


def test_json_numbers_and_lists_are_values(program, enroll_customer):
    from customers.models import Customer

    enroll_customer("a1", points=10, country="DE")
    enroll_customer("b1", points=30, country="AT")
    q = compile_tree(tree(leaf("score", "ge", 20), leaf("country", "in", ["AT", "FR"])))
    assert list(Customer.objects.filter(q).values_list("customer_id", flat=True)) == ["b1"]


def test_filter_bar_syntax_takes_valueless_operators():
    assert Condition.parse("birth_date:this_day") == Condition("birth_date", "this_day", "")


def test_segment_cycles_are_refused(program):
    a = Segment.objects.create(name="A", conditions=tree(leaf("score", "ge", "1")))
    b = Segment.objects.create(name="B", conditions=tree(leaf("segment", "eq", str(a.pk))))
    c = Segment.objects.create(name="C", conditions=tree(leaf("segment", "in", f"{b.pk}")))
    # A referring to C closes A -> C -> B -> A.
    with pytest.raises(ConditionError, match="cycle") as caught:
        validate_definition(a.pk, tree(leaf("segment", "eq", str(c.pk))))
    assert "A → C → B → A" in caught.value.message
    with pytest.raises(ConditionError, match="cycle"):
        check_cycles(a.pk, parse_tree(tree(leaf("segment", "eq", str(a.pk)))))
    # Not a cycle: a new segment referring to C.
    validate_definition(None, tree(leaf("segment", "eq", str(c.pk))))
