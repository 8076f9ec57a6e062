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


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("ge", "2", ["two", "three"]),
        ("gt", "2", ["three"]),
        ("eq", "2", ["two"]),
        ("le", "1", ["none", "one", "old"]),
        ("lt", "2", ["none", "one", "old"]),
        ("ne", "0", ["one", "two", "three"]),
        ("ge", "0", ["none", "one", "two", "three", "old"]),
        ("eq", "-1", []),
    ],
)
def test_event_counts_in_a_window(program, enroll_customer, op, value, expected):
    """Logins in the last 30 days: none 0, one 1, two 2, three 3, old 0 (two, older than 30 days).
    A comparison that only asks "any at all" ("ne 0", "lt 1") is a semi-join without GROUP BY."""
    import datetime as dt

    from django.utils import timezone

    from customers.models import Customer
    from events.models import Event

    now = timezone.now()
    for cid, ages in {"none": [], "one": [1], "two": [2, 3], "three": [1, 2, 29], "old": [40, 50]}.items():
        customer = enroll_customer(cid)
        for days in ages:
            moment = now - dt.timedelta(days=days)
            Event.objects.create(customer=customer, action="login", timestamp=moment, effective_at=moment)
    qs = Customer.objects.filter(compile_tree(tree(leaf("events.login.30d", op, value))))
    assert sorted(qs.values_list("customer_id", flat=True)) == sorted(expected)
    grouped = (op, value) not in {("ne", "0"), ("ge", "0"), ("eq", "-1")}
    assert ("GROUP BY" in str(qs.query)) is grouped


def test_last_event_more_than_n_days_ago_is_some_and_none_since(program, enroll_customer):
    """“Last login more than 30 days ago”: customers with a login and none in the last 30 days
    (never-logged-in customers are not in it, as a missing value satisfies no comparison)."""
    import datetime as dt

    from django.utils import timezone

    from customers.models import Customer
    from events.models import Event

    now = timezone.now()
    for cid, ages in {"never": [], "recent": [40, 2], "lapsed": [40, 90], "edge": [31]}.items():
        customer = enroll_customer(cid)
        for days in ages:
            moment = now - dt.timedelta(days=days)
            Event.objects.create(customer=customer, action="login", timestamp=moment, effective_at=moment)
    q = compile_tree(tree(leaf("last_event.login", "days_ago_gt", "30")))
    qs = Customer.objects.filter(q)
    assert sorted(qs.values_list("customer_id", flat=True)) == ["edge", "lapsed"]
    assert "GROUP BY" not in str(qs.query)
    recent = Customer.objects.filter(compile_tree(tree(leaf("last_event.login", "days_ago_lt", "30"))))
    assert list(recent.values_list("customer_id", flat=True)) == ["recent"]
