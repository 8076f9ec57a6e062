"""The modifier branch's per-process preparation (workflows.evaluate.node_plan): customer filters on
plain columns answered from the locked row, parsed condition trees, literal variables. Each is
checked against what the query / the expression gives, so the shortcut cannot change a result."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from loyalty import expressions
from segments import conditions as cond
from tests import factories
from workflows import editing, evaluate
from workflows.models import WorkflowRun

from .conftest import chain, make_workflow, on_event

pytestmark = pytest.mark.django_db


def _tree(*conditions, match="all"):
    return {
        "match": match,
        "conditions": [
            c if isinstance(c, dict) else dict(zip(("field", "operator", "value"), c, strict=True))
            for c in conditions
        ],
    }


TREES = [
    _tree(("country", "in", "DE,AT,HU")),
    _tree(("country", "not_in", "DE,AT")),
    _tree(("country", "eq", "de")),
    _tree(("first_name", "eq", "anna")),  # case-sensitive on every database
    _tree(("country", "ne", "DE")),
    _tree(("city", "is_empty", "")),
    _tree(("city", "is_not_empty", "")),
    _tree(("email", "contains", "@example")),
    _tree(("email", "not_contains", "anna")),
    _tree(("first_name", "starts_with", "An")),
    _tree(("first_name", "starts_with", "")),
    _tree(("score", "ge", "50")),
    _tree(("score", "lt", "50"), ("status", "eq", "active")),
    _tree(("spendable", "in", "0,120")),
    _tree(("purchase_total", "gt", "0.5")),
    _tree(("country", "eq", "DE"), _tree(("score", "gt", "10"), ("city", "eq", "Wien"), match="any")),
    _tree(("country", "eq", "XX"), _tree(), match="any"),
    _tree(),
]


@pytest.fixture
def crowd(program):
    factories.enroll("Anna-1", points=120, first_name="Anna", email="anna@example.com", country="DE")
    factories.enroll("Bob-1", points=20, first_name="Bob", email="bob@shop.test", country="AT", city="Wien")
    factories.enroll("Cem-1", first_name="Cem", email="cem@example.com", country="de")
    factories.enroll("Dora-1", points=60, first_name="Andora", email="dora@x.io", city="Pécs")
    return list(Customer.objects.order_by("pk"))


@pytest.mark.parametrize("tree", TREES, ids=[str(i) for i in range(len(TREES))])
def test_a_row_answer_equals_the_query_answer(crowd, tree):
    plan = evaluate.memory_plan(tree)
    assert plan is not None
    expected = set(Customer.objects.filter(cond.compile_tree(tree)).values_list("pk", flat=True))
    got = {customer.pk for customer in crowd if evaluate.customer_matches(customer, tree, None, plan)}
    assert got == expected
    # and the query path of the same function agrees (the fallback the plan replaces)
    now = factories.live().created_at
    assert {c.pk for c in crowd if evaluate.customer_matches(c, tree, now)} == expected


@pytest.mark.parametrize(
    "tree",
    [
        _tree(("tier", "eq", "gold")),
        _tree(("label", "eq", "vip")),
        _tree(("birth_date", "this_day", "")),
        _tree(("country", "lt", "DE")),  # text ordering follows the database's collation
        _tree(("balance.points.spendable", "gt", "1")),
        _tree(("country", "eq", "DE"), ("events.login.30d", "ge", "1")),
    ],
)
def test_what_the_row_cannot_answer_goes_to_the_query(crowd, tree):
    assert evaluate.memory_plan(tree) is None


def _filter_workflow(kind, tree):
    return make_workflow(
        chain(
            on_event("point_add"),
            {"id": "c", "type": kind, "config": {"conditions": tree}},
            {"id": "v", "type": "variable_assign", "config": {"name": "region", "value": "'dach'"}},
            branch="modifier",
        )
    )


def _queries_of_one_event(on_commit, customer="Anna-1") -> int:
    on_commit(lambda: factories.register("point_add", customer, {"points": 5}))  # caches warm
    with CaptureQueriesContext(connection) as captured:
        on_commit(lambda: factories.register("point_add", customer, {"points": 5}))
    return len(captured.captured_queries)


def test_a_column_customer_filter_on_the_modifier_branch_costs_no_query(crowd, on_commit):
    # The same workflow with an event filter (evaluated in memory) is the yardstick: the run's
    # log and its task cost the same either way.
    event_filter = _filter_workflow("filter_event", _tree(("points", "ge", "1")))
    yardstick = _queries_of_one_event(on_commit)
    editing.set_status(event_filter, False)
    column = _filter_workflow("filter_customer", _tree(("country", "in", "DE,AT")))
    assert _queries_of_one_event(on_commit) == yardstick
    editing.set_status(column, False)
    # A list condition still asks the database.
    _filter_workflow("filter_customer", _tree(("country", "eq", "DE"), ("label", "eq", "vip")))
    assert _queries_of_one_event(on_commit) == yardstick + 1


def test_a_customer_filter_nobody_can_match_fails_the_filter_not_the_event(crowd, on_commit):
    # A tier code no tier has compiles to "nobody" (Django's EmptyResultSet): that took the
    # event down with it before.
    workflow = _filter_workflow("filter_customer", _tree(("tier", "eq", "gold")))
    on_commit(lambda: factories.register("point_add", "Anna-1", {"points": 5}))
    assert factories.live("Anna-1").spendable == 125
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.steps.get(node="c").output == "failure"


def test_the_modifier_branch_outcome_follows_the_row(crowd, on_commit):
    workflow = make_workflow(
        chain(
            on_event("point_add"),
            {
                "id": "c",
                "type": "filter_customer",
                "config": {"conditions": _tree(("country", "in", "DE,AT"))},
            },
            {"id": "v", "type": "variable_assign", "config": {"name": "region", "value": "'dach'"}},
            branch="modifier",
        )
    )
    factories.register("profile", "Cem-1", {"country": "HU"})
    for customer in ("Anna-1", "Bob-1", "Cem-1"):
        on_commit(lambda customer=customer: factories.register("point_add", customer, {"points": 5}))
    runs = {run.customer.customer_id: run for run in WorkflowRun.objects.filter(workflow=workflow)}
    assert runs["Anna-1"].vars == {"region": "dach"}
    assert runs["Bob-1"].vars == {"region": "dach"}
    assert runs["Cem-1"].vars == {}


@pytest.mark.parametrize("text", ["1", "-3", "2.5", " 10 ", "'dach'", '"a b"', "''", 7, 1.5])
def test_a_literal_variable_is_the_value_the_expression_gives(text):
    constant = evaluate.constant(text)
    assert constant is not None
    assert constant.value == expressions.evaluate(text, {})
    assert type(constant.value) is type(expressions.evaluate(text, {}))


@pytest.mark.parametrize("text", ["1 + 1", "event.points", "'a' ~ 'b'", "{event.points}", "true", "'it\\'s'"])
def test_anything_else_is_evaluated(text):
    assert evaluate.constant(text) is None


def test_plans_are_kept_per_stored_version_and_node(crowd):
    tree = _tree(("country", "eq", "DE"))
    plan = evaluate.node_plan("filter_customer", {"conditions": tree}, 10**9, "c")
    assert plan is evaluate.node_plan("filter_customer", {"conditions": tree}, 10**9, "c")
    assert evaluate.node_plan("filter_event", {"conditions": tree}, None) is not None  # unsaved: fresh
