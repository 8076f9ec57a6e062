"""The one expression language: workflow node fields (reference §1.7, Antavo's "Volt"), webhook
payload templates and paths, incoming-webhook mappings and filters. Jinja2 in its immutable
sandbox, with limits on work and size (docs/expressions.md is the user-facing rule book).

Two kinds of text:
- a **template** (text): ``Hello {{ customer.first_name }}``; `render(text, context)` -> str;
- an **expression** (a value): ``event.points * 2``; `evaluate(text, context)` -> value
  (`evaluate_points` -> a whole number of points).

The reference's single-brace placeholders are accepted in both: ``{event.points} * 2`` is the
expression ``(event.points) * 2`` and ``Order {event.transaction_id}`` the template
``Order {{ event.transaction_id }}``. A template whose text is JSON (a webhook payload, the
workflow kind *jinja*) is rendered with ``single_braces=False``: only ``{{ }}`` is a placeholder.

Rules (the stricter of the two former modules, workflows.expressions and this one):
- `ImmutableSandboxedEnvironment`: no attributes starting with ``_`` (but ``_id``, the reference's
  customer ID key) — refused on save by `check_*` from the parsed template, and at run time by the
  sandbox; no mutation of lists and dicts; globals are only min, max, abs, round, int, float and a
  bounded `range`.
- **Undefined names are errors** (StrictUndefined): ``customer.nickame`` fails instead of rendering
  an empty string; write ``body.coupon | default(none)`` or ``body.coupon is defined`` for optional
  values.
- **Limits** (an `ExpressionError` naming the limit): MAX_SOURCE characters of source; MAX_STEPS
  steps (loop iterations, calls, filters, operators on collections, outputs); MAX_SECONDS of CPU
  time; calls (macros) nested at most MAX_DEPTH deep; `range()` of at most MAX_RANGE items; every
  string, list or output at most MAX_OUTPUT characters / MAX_ITEMS items, checked *before* an
  operation that would build a bigger one (``'x' * 10**9``, ``'%099999999d'``, ``center(10**9)``)
  and powers at most MAX_POWER_BITS bits.

Errors are `ExpressionError` (a ValidationError, code 113450; `message` is for the user). A
workflow node whose expression fails takes its failure output (logged) and never breaks the
engine; a webhook delivery whose template fails is a failed delivery with the message; an
incoming request whose mapping fails is refused and logged.
"""

from __future__ import annotations

import contextvars
import functools
import json
import math
import re
import string
import time
from decimal import Decimal

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from loyalty.errors import ValidationError

MAX_SOURCE = 10_000
MAX_OUTPUT = 256 * 1024
MAX_ITEMS = 100_000
MAX_RANGE = 10_000
MAX_STEPS = 100_000
MAX_SECONDS = 0.5
MAX_DEPTH = 20
MAX_POWER_BITS = 1024

_SINGLE = re.compile(r"(?<!\{)\{([^{}%#]+)\}(?!\})")
_ONLY_DOUBLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_ALLOWED_PRIVATE = {"_id"}


class ExpressionError(ValidationError):
    """An expression or template that does not parse, leaves the sandbox, exceeds a limit or
    fails when evaluated; `message` says which."""

    code = 113450
    default_message = "The expression cannot be evaluated."


class ExpressionLimit(ExpressionError):
    """A limit of work or size was reached (a subclass: callers need not tell it apart)."""


# --- the budget of one evaluation -------------------------------------------------------------


class _Budget:
    __slots__ = ("steps", "output", "depth", "deadline")

    def __init__(self):
        self.steps = 0
        self.output = 0
        self.depth = 0
        self.deadline = time.thread_time() + MAX_SECONDS


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("expression_budget", default=None)


def _step(count: int = 1) -> _Budget | None:
    budget = _budget.get()
    if budget is None:  # compile time (constant folding): nothing is evaluated per step
        return None
    budget.steps += count
    if budget.steps > MAX_STEPS:
        raise ExpressionLimit(
            f"The expression takes more than {MAX_STEPS:,} steps (loop iterations, calls, outputs)."
        )
    if budget.steps & 63 == 0 and time.thread_time() > budget.deadline:
        raise ExpressionLimit(f"The expression takes more than {MAX_SECONDS} s of CPU time.")
    return budget


def _bounded_value(value):
    """`value`, unless it is a string over MAX_OUTPUT characters or a collection over MAX_ITEMS."""
    if isinstance(value, str | bytes):
        if len(value) > MAX_OUTPUT:
            raise ExpressionLimit(f"A text of more than {MAX_OUTPUT:,} characters.")
    elif isinstance(value, list | tuple | dict | set | frozenset) and len(value) > MAX_ITEMS:
        raise ExpressionLimit(f"A list of more than {MAX_ITEMS:,} items.")
    return value


def _check_width(number, what: str = "A width") -> None:
    if isinstance(number, int) and not isinstance(number, bool) and abs(number) > MAX_OUTPUT:
        raise ExpressionLimit(f"{what} of {number:,} is more than {MAX_OUTPUT:,} characters.")


def _check_percent_format(text: str, args) -> None:
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number.isdigit():
                _check_width(int(number), "A format width")
    values = args if isinstance(args, tuple) else (args,)
    if "*" in text:
        for value in values:
            _check_width(value, "A format width")


def _check_brace_format(text: str) -> None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise ExpressionError(f"Bad format string: {error}") from None
    for _literal, _field, spec, _conversion in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise ExpressionError("A format string may not take its width from an argument.")
        for number in re.findall(r"\d+", spec):
            _check_width(int(number), "A format width")


def _check_binop(operator: str, left, right) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and not isinstance(times, bool):
                limit = MAX_OUTPUT if isinstance(seq, str) else MAX_ITEMS
                if len(seq) * max(times, 0) > limit:
                    raise ExpressionLimit(
                        f"Repeating {len(seq):,} {'characters' if isinstance(seq, str) else 'items'} "
                        f"{times:,} times is more than {limit:,}."
                    )
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_POWER_BITS * 4:
                raise ExpressionLimit("A number too large to compute.")
    elif operator == "**":
        if isinstance(left, int | float | Decimal) and isinstance(right, int | float | Decimal):
            base, exponent = abs(float(left)) if abs(left) < 2**1000 else float("inf"), float(right)
            if base > 1 and exponent > 0:
                if exponent * math.log2(base) > MAX_POWER_BITS:
                    raise ExpressionLimit(f"A power of more than {MAX_POWER_BITS} bits.")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            limit = MAX_OUTPUT if isinstance(left, str) else MAX_ITEMS
            if len(left) + len(right) > limit:
                raise ExpressionLimit(f"Joining them makes more than {limit:,} characters or items.")
    elif operator == "%" and isinstance(left, str):
        _check_percent_format(left, right)


# --- filters and methods that can build big values from small ones ------------------------------


def _pre_filter(name: str, args: tuple, kwargs: dict) -> None:
    """`args` without Jinja's context / environment argument: (value, arguments...)."""
    if name in ("center", "indent", "wordwrap", "truncate") and len(args) > 1:
        _check_width(args[1])
    for key in ("width", "length"):
        if key in kwargs:
            _check_width(kwargs[key])
    if name == "format" and args:
        _check_percent_format(str(args[0]), tuple(args[1:]) or tuple(kwargs.values()))
    if name in ("slice", "batch") and len(args) > 1:
        if isinstance(args[1], int) and args[1] > MAX_ITEMS:
            raise ExpressionLimit(f"{name}() into more than {MAX_ITEMS:,} parts.")
    if name == "replace" and len(args) > 2:
        _check_replace(*args[:3])
    if name == "join" and args and isinstance(args[0], list | tuple):
        separator = args[1] if len(args) > 1 else kwargs.get("d", "")
        _check_join(str(separator), args[0])


def _check_replace(text, old, new) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str) and old:
        if len(text) + text.count(old) * max(len(new) - len(old), 0) > MAX_OUTPUT:
            raise ExpressionLimit(f"The replacement makes more than {MAX_OUTPUT:,} characters.")


def _check_join(separator: str, items) -> None:
    if isinstance(items, list | tuple):
        total = len(separator) * len(items) + sum(len(i) if isinstance(i, str) else 20 for i in items)
        if total > MAX_OUTPUT:
            raise ExpressionLimit(f"Joining them makes more than {MAX_OUTPUT:,} characters.")


def _guard_filter(name: str, function):
    skip = 1 if hasattr(function, "jinja_pass_arg") else 0  # @pass_context / _eval_context / _environment

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        _step()
        _pre_filter(name, args[skip:], kwargs)
        return _bounded_value(function(*args, **kwargs))

    return guarded


_WIDENING_METHODS = {"ljust", "rjust", "center", "zfill", "expandtabs"}


def _pre_method(method, args) -> None:
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, str):
        if name in _WIDENING_METHODS and args:
            _check_width(args[0])
        elif name == "replace" and len(args) >= 2:
            _check_replace(owner, args[0], args[1])
        elif name == "join" and args:
            _check_join(owner, list(args[0]) if isinstance(args[0], list | tuple) else args[0])
    wrapped = getattr(method, "__wrapped__", None)  # the sandbox's str.format wrapper
    if name in ("format", "format_map") and isinstance(getattr(wrapped, "__self__", None), str):
        _check_brace_format(wrapped.__self__)


def _range(*args) -> range:
    for value in args:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ExpressionError("range() takes whole numbers.")
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ExpressionLimit(f"range() of {len(result):,} items: at most {MAX_RANGE:,}.")
    return result


# --- the environment --------------------------------------------------------------------------


class _GuardedCodeGenerator(CodeGenerator):
    """Compiles every loop's iterable through `environment.guard_iter` (a step per iteration),
    every ``~`` through `environment.guard_value` and every output through `finalize` (counted),
    template text included (no output is folded into a constant)."""

    def visit_For(self, node, frame):
        if not getattr(node, "_guarded", False):
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute("guard_iter"), [node.iter], [], None, None, lineno=node.lineno
            )
            node._guarded = True
        super().visit_For(node, frame)

    def visit_Concat(self, node, frame):
        self.write("environment.guard_value(")
        super().visit_Concat(node, frame)
        self.write(")")

    def _output_child_to_const(self, node, frame, finalize):
        raise nodes.Impossible()


def _finalize(value):
    text = str(value)  # a StrictUndefined raises here
    budget = _step()
    if budget is not None:
        budget.output += len(text)
        if budget.output > MAX_OUTPUT:
            raise ExpressionLimit(f"The template produces more than {MAX_OUTPUT:,} characters.")
    return text


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def call_binop(self, context, operator, left, right):
        _step()
        _check_binop(operator, left, right)
        return _bounded_value(self.binop_table[operator](left, right))

    def call(__self, __context, __obj, *args, **kwargs):
        budget = _step()
        _pre_method(__obj, args)
        for value in (*args, *kwargs.values()):
            _bounded_value(value)
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise ExpressionLimit(f"Calls (macros) nest deeper than {MAX_DEPTH}.")
            return _bounded_value(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1

    @staticmethod
    def guard_iter(iterable):
        for item in iterable:
            _step()
            yield item

    @staticmethod
    def guard_value(value):
        _step()
        return _bounded_value(value)


_env = _Environment(autoescape=False, undefined=StrictUndefined, finalize=_finalize)
_env.globals.clear()
_env.globals.update({"min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float})
_env.globals["range"] = _range
_env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
_env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
for _name, _function in list(_env.filters.items()):
    _env.filters[_name] = _guard_filter(_name, _function)


# --- compiling (cached per process: compiling costs ~2 ms) --------------------------------------


def _source(text) -> str:
    if not isinstance(text, str):
        raise ExpressionError("An expression must be text.")
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"An expression or template is at most {MAX_SOURCE:,} characters.")
    if "\x00" in text:
        raise ExpressionError("An expression may not contain NUL characters.")
    return text


def _to_template(text: str) -> str:
    return _SINGLE.sub(lambda m: "{{ " + m.group(1).strip() + " }}", text)


def _to_expression(text: str) -> str:
    double = _ONLY_DOUBLE.match(text)
    if double:
        text = double.group(1)
    text = text.replace("{{", "(").replace("}}", ")")
    return _SINGLE.sub(lambda m: "(" + m.group(1).strip() + ")", text)


def _refuse_private(tree) -> None:
    """Names and attributes starting with ``_`` (but ``_id``) are outside the sandbox."""
    for node in [tree, *tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name))]:
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        elif isinstance(node, nodes.Name):
            name = node.name
        else:
            continue
        if isinstance(name, str) and name.startswith("_") and name not in _ALLOWED_PRIVATE:
            raise ExpressionError(f"{name!r}: names starting with an underscore are outside the sandbox.")


def _describe(error: TemplateError) -> str:
    line = getattr(error, "lineno", None)
    return f"{error.message} (line {line})" if line and line > 1 else str(error.message)


def _plain_globals(template):
    """Give the compiled template a plain dict of this sandbox's globals instead of Jinja's
    ChainMap over the environment's (which is fixed after import): every render merges them
    into a new context, and iterating a ChainMap made that ~40 % of a short expression's cost
    (9.2 -> 5.5 us for ``{event.points} * 2``)."""
    template.globals = dict(template.globals)
    return template


@functools.lru_cache(maxsize=2048)
def _template(text: str, single_braces: bool):
    source = _to_template(text) if single_braces else text
    try:
        _refuse_private(_env.parse(source))
        return _plain_globals(_env.from_string(source))
    except TemplateError as error:
        raise ExpressionError(f"The template does not parse: {_describe(error)}") from None


@functools.lru_cache(maxsize=2048)
def _expression(text: str):
    source = _to_expression(text)
    try:
        compiled = _env.compile_expression(source, undefined_to_none=False)
        _refuse_private(Parser(_env, source, state="variable").parse_expression())
        _plain_globals(compiled._template)  # (TemplateExpression keeps its template there)
        return compiled
    except TemplateError as error:
        raise ExpressionError(f"The expression does not parse: {_describe(error)}") from None


def check_template(text, *, single_braces: bool = True) -> None:
    """Raise ExpressionError when the template does not parse or names something private.
    `single_braces=False` (a JSON payload, the *jinja* fields): only ``{{ }}`` is a placeholder,
    ``{"a": 1}`` stays text."""
    _template(_source(text), single_braces)


def check_expression(text) -> None:
    """Raise ExpressionError when the expression does not parse or names something private."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return
    _expression(_source(text))


def _run(function, what: str):
    token = _budget.set(_Budget())
    try:
        return function()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionLimit(f"The {what} nests too deeply.") from None
    except MemoryError:
        raise ExpressionLimit(f"The {what} needs too much memory.") from None
    except SecurityError as error:
        raise ExpressionError(f"Outside the sandbox: {error}") from None
    except TemplateError as error:
        raise ExpressionError(f"{what.capitalize()} error: {error.message}") from None
    except Exception as error:  # noqa: BLE001 (a user's expression: every failure is its error)
        raise ExpressionError(f"{what.capitalize()} error: {type(error).__name__}: {error}") from None
    finally:
        _budget.reset(token)


def render(text: str, context: dict, *, single_braces: bool = True) -> str:
    """The template's text. ExpressionError on any failure (undefined name, sandbox refusal,
    limit). `single_braces=False`: only ``{{ }}`` is a placeholder (JSON payloads)."""
    template = _template(_source(text), single_braces)
    return _run(lambda: "".join(template.generate(**context)), "template")


def evaluate(text, context: dict):
    """The expression's value (a number stays a number). ExpressionError on any failure; a name
    that does not exist is one too."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    expression = _expression(_source(text))

    def run():
        value = expression(**context)
        if isinstance(value, Undefined):
            str(value)  # StrictUndefined: raises naming what is missing
        return _bounded_value(value)

    return _run(run, "expression")


def evaluate_points(text, context: dict) -> int:
    """An expression whose value is a whole number of points (a fraction is rounded half up)."""
    value = evaluate(text, context)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ExpressionError(f"Points must be a number, not {value!r}.")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ExpressionError(f"Points must be a number, not {value!r}.") from None
    if not number.is_finite():
        raise ExpressionError("Points must be a finite number.")
    whole = int(number.to_integral_value(rounding="ROUND_HALF_UP"))
    if abs(whole) > 10**12:
        raise ExpressionError("Points are out of range.")
    return whole


__all__ = [
    "ExpressionError",
    "ExpressionLimit",
    "check_expression",
    "check_template",
    "evaluate",
    "evaluate_points",
    "render",
]
