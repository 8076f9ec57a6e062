"""The one expression language (loyalty.expressions): sandbox, strict names, the reference's single
braces, and the limits on work and size — pathological templates are expression errors with a
clear message, quickly, never a hang, a MemoryError or a crash of the caller."""

import pytest

from loyalty import expressions
from loyalty.expressions import ExpressionError, ExpressionLimit

CONTEXT = {
    "event": {"points": 12, "data": {"store": "web"}},
    "customer": {"id": "Anna-1", "_id": "Anna-1", "labels": ["vip"], "nickname": None},
    "body": {"order": {"total": 21}},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/customers/{customer._id}", "/customers/Anna-1"),
        ("{event.points}*2 = {{ event.points * 2 }}", "12*2 = 24"),
        ("Hello {{ customer.nickname | default('friend', true) }}", "Hello friend"),
        ("{% for l in customer.labels %}[{{ l }}]{% endfor %}", "[vip]"),
        ("{{ body.coupon | default(none) }}", "None"),
        ("{{ '%05.1f' % 3.14159 }}", "003.1"),
        ("{{ range(3) | join(',') }}", "0,1,2"),
    ],
)
def test_templates_render(template, expected):
    assert expressions.render(template, CONTEXT) == expected


def test_a_json_payload_keeps_its_braces_without_single_brace_placeholders():
    text = '{"id": {{ customer.id | tojson }}, "fixed": {"a": 1}, "n": "{{ "{:>3}".format(7) }}"}'
    rendered = expressions.render(text, CONTEXT, single_braces=False)
    assert rendered == '{"id": "Anna-1", "fixed": {"a": 1}, "n": "  7"}'
    expressions.check_template(text, single_braces=False)
    with pytest.raises(ExpressionError):  # with single braces {"a": 1} is a placeholder that does not parse
        expressions.check_template('{"a": 1}')


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("{event.points} * 2", 24), ("body.order.total * 2", 42), ("{{ event.points }} / 4", 3.0), (7, 7)],
)
def test_expressions_keep_their_type(expression, expected):
    value = expressions.evaluate(expression, CONTEXT)
    assert value == expected and type(value) is type(expected)


def test_the_sandbox_globals_reach_expressions_and_templates_and_nothing_leaks_into_them():
    """Compiled templates carry a plain copy of the sandbox's globals (expressions._plain_globals):
    the listed functions work in both forms, and a name passed to one evaluation is not there
    for the next."""
    assert expressions.evaluate("max(event.points, 20) + min(1, 2) + abs(-3) + int('4')", CONTEXT) == 28
    assert expressions.render("{{ round(2.5) }} {{ range(2) | list }}", CONTEXT) == "2 [0, 1]"
    assert expressions.evaluate("extra * 2", {**CONTEXT, "extra": 5}) == 10
    with pytest.raises(ExpressionError, match="'extra' is undefined"):
        expressions.evaluate("extra * 2", CONTEXT)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("template", "{{ customer.nope }}", "no attribute 'nope'"),
        ("expression", "body.order.coupon", "no attribute 'coupon'"),
        ("expression", "body.missing.deeper", "no attribute 'missing'"),
        ("template", "{{ cycler }}", "'cycler' is undefined"),  # no globals but the listed ones
        ("expression", "dict(a=1)", "'dict' is undefined"),
        ("expression", "customer.labels.append('x')", "unsafe"),  # the immutable sandbox
        ("expression", "customer['__class__']", "underscore"),
        ("template", "{{ customer|attr('__class__') }}", "unsafe"),
        ("expression", "1 / 0", "ZeroDivisionError"),
    ],
)
def test_undefined_names_and_sandbox_refusals_are_errors(kind, text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        if kind == "template":
            expressions.render(text, CONTEXT)
        else:
            expressions.evaluate(text, CONTEXT)


@pytest.mark.parametrize(
    "text",
    ["''.__class__", "''.__class__.__mro__", "event.__init__", "x._private", "_secret", "x['__dict__']"],
)
def test_names_starting_with_an_underscore_are_refused_when_checked(text):
    with pytest.raises(ExpressionError, match="underscore"):
        expressions.check_template("{{ " + text + " }}")
    with pytest.raises(ExpressionError, match="underscore"):
        expressions.check_template("{" + text + "}")  # the reference's single braces
    with pytest.raises(ExpressionError, match="underscore"):
        expressions.check_expression(text)
    expressions.check_template("Bonus for _special_ customers: " + text)  # plain text is not code


def test_a_template_that_does_not_parse_names_the_problem():
    with pytest.raises(ExpressionError, match="does not parse"):
        expressions.check_template("{{ oops")
    with pytest.raises(ExpressionError, match="does not parse"):
        expressions.check_expression("event.points *")
    with pytest.raises(ExpressionError, match="at most 10,000 characters"):
        expressions.check_template("x" * (expressions.MAX_SOURCE + 1))
    with pytest.raises(ExpressionError, match="NUL"):
        expressions.check_template("a\x00b")


PATHOLOGICAL = [
    ("{% for i in range(10**9) %}x{% endfor %}", "range() of 1,000,000,000 items"),
    ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "steps"),
    ("{% for i in range(9999) %}{{ range(9999) | sum }}{% endfor %}", "CPU time"),  # few steps, much work
    ("{{ 'x' * 10**9 }}", "Repeating 1 characters"),
    ("{{ 'x' * 1000000000 }}", "Repeating 1 characters"),
    ("{{ [1, 2] * 10**8 }}", "Repeating 2 items"),
    ("{{ 10 ** 100000 }}", "power"),
    ("{{ 2.0 ** 100000 }}", "power"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nest deeper than 20"),
    ("{% macro f(n) %}{% if n < 60 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}", "nest"),
    ("{% macro f(n) %}{% if n < 15 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}", "steps"),
    ("{% set s = 'ab' %}" + "{% set s = s ~ s %}" * 40 + "{{ s | length }}", "more than 262,144 characters"),
    (
        "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ d('x', 60) }}",
        "262,144",
    ),
    ("{% for i in range(9999) %}" + "y" * 100 + "{% endfor %}", "produces more than"),
    ("{% set s %}{% for i in range(9999) %}{{ 'z' * 100 }}{% endfor %}{% endset %}", "produces more than"),
    ("{{ '%0999999999d' % 1 }}", "format width"),
    ("{{ '%*d' | format(10**9, 1) }}", "format width"),
    ("{{ '{:>999999999}'.format(1) }}", "format width"),
    ("{{ 'x' | center(10**9) }}", "width of 1,000,000,000"),
    ("{{ 'x' | indent(10**9) }}", "width of 1,000,000,000"),
    ("{{ 'x'.ljust(10**9) }}", "width of 1,000,000,000"),
    ("{{ ('a' * 1000) | replace('a', 'a' * 1000) }}", "replacement"),
    ("{{ ('a' * 1000).replace('a', 'a' * 1000) }}", "replacement"),
    ("{{ [1, 2] | slice(10**9) | list }}", "parts"),
    ("{{ ''.join(['x' * 200000, 'y' * 200000]) }}", "Joining"),
    ("{{ ['x' * 200000, 'y' * 200000] | join }}", "Joining"),
]


@pytest.mark.parametrize(("template", "message"), PATHOLOGICAL)
def test_pathological_templates_are_limit_errors(template, message, monkeypatch):
    if message != "CPU time":  # the limit named must act first, however slow this machine is
        monkeypatch.setattr(expressions, "MAX_SECONDS", 30.0)
    expressions.check_template(template, single_braces=False)  # they parse: the limits act at run time
    with pytest.raises(ExpressionLimit) as caught:
        expressions.render(template, CONTEXT, single_braces=False)
    assert message in caught.value.message
    assert caught.value.code == ExpressionError.code  # callers see an ordinary expression error


def test_limits_apply_to_expressions_too():
    with pytest.raises(ExpressionLimit, match="Repeating"):
        expressions.evaluate("'x' * 10**9", CONTEXT)
    with pytest.raises(ExpressionLimit, match="range"):
        expressions.evaluate("range(10**9) | list", CONTEXT)
    with pytest.raises(ExpressionLimit, match="power"):
        expressions.evaluate_points("10 ** 1000", CONTEXT)


def test_the_budget_is_per_evaluation_and_below_the_limits_work_is_allowed():
    busy = "{% for i in range(5000) %}{{ i % 10 }}{% endfor %}"
    for _ in range(30):  # 30 x 10,000 steps: each evaluation has its own budget
        assert len(expressions.render(busy, CONTEXT)) == 5000
    assert expressions.evaluate("'x' * 262144", CONTEXT) == "x" * 262144  # exactly the limit


def test_the_cpu_deadline_stops_work_the_step_count_misses(monkeypatch):
    monkeypatch.setattr(expressions, "MAX_SECONDS", -1.0)  # every deadline check is already late
    with pytest.raises(ExpressionLimit, match="CPU time"):
        expressions.render("{% for i in range(200) %}{{ i }}{% endfor %}", CONTEXT)
