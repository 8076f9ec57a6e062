"""The cost of the expression language's guards (loyalty.expressions: step counting, output
counting, size pre-checks) against a plain Jinja2 immutable sandbox compiling the same text, in
the same run; and how fast a pathological template is stopped.

`python -m bench bench_expressions` (no database needed). Prints CPU µs per evaluation
(time.process_time) and the ratio guarded / plain.
"""

from __future__ import annotations

import functools
import os
import time

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loyalty import expressions

CONTEXT = {
    "event": {"points": 120, "transaction_id": "T-1001", "data": {"store": "web"}},
    "customer": {"id": "Anna-1", "first_name": "Anna", "email": "anna@example.com", "labels": ["vip", "web"]},
}
CASES = [
    ("expression", "event.points * 2", "{event.points} * 2"),
    (
        "template",
        "Order {{ event.transaction_id }} for {{ customer.first_name }}",
        "Order {event.transaction_id} for {customer.first_name}",
    ),
    (
        "json",
        '{"id": {{ customer.id | tojson }}, "email": {{ customer.email | tojson }}, "points": {{ event.points }}, '
        '"labels": [{% for l in customer.labels %}{{ l | tojson }}{% if not loop.last %},{% endif %}{% endfor %}]}',
        None,
    ),
]
PATHOLOGICAL = [
    "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n < 15 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}",
    "{% for i in range(9999) %}{{ range(9999) | sum }}{% endfor %}",
]


def _cpu_per_call(function, rounds: int) -> float:
    start = time.process_time()
    for _ in range(rounds):
        function()
    return (time.process_time() - start) / rounds * 1e6


def run() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "20000"))
    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    print(f"load average {os.getloadavg()[0]:.1f}; {rounds} evaluations each, CPU µs per evaluation")
    for kind, text, single in CASES:
        if kind == "expression":
            base = functools.partial(plain.compile_expression(text), **CONTEXT)
            guarded = functools.partial(expressions.evaluate, single, CONTEXT)
        else:
            base = functools.partial(plain.from_string(text).render, **CONTEXT)
            guarded = functools.partial(
                expressions.render, single or text, CONTEXT, single_braces=single is not None
            )
        assert str(guarded()) == str(base()), (guarded(), base())
        for _ in range(2):  # alternate, so drift hits both
            plain_us = _cpu_per_call(base, rounds)
            guarded_us = _cpu_per_call(guarded, rounds)
            print(
                f"  {kind:10} plain {plain_us:7.1f} µs  guarded {guarded_us:7.1f} µs  ratio {guarded_us / plain_us:4.2f}x"
            )
    for text in PATHOLOGICAL:
        start = time.process_time()
        try:
            expressions.render(text, CONTEXT)
        except expressions.ExpressionError as error:
            message = error.message
        print(f"  stopped in {(time.process_time() - start) * 1000:6.1f} ms CPU: {message}  ({text[:50]}…)")
