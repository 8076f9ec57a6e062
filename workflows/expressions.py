"""Expressions in node fields: Jinja2's sandbox (reference §1.7, Antavo's "Volt").

Two kinds of field:
- a **template** (text: a reason, a coupon code, an attribute value): ``Hello {{ customer.first_name }}``;
- an **expression** (a number or a value: campaign bonus points, a variable): ``event.points * 2``.

The reference's single-brace placeholders are accepted in both: ``{event.points}*2`` is the
expression ``event.points*2``, and ``Order {event.transaction_id}`` the template
``Order {{ event.transaction_id }}``. The namespace: ``event`` (action, points and every data
attribute), ``customer`` (ID, status, attributes, custom fields, balances, tiers, labels),
``vars`` (variables assigned earlier in the run), ``workflow`` (id, name) and ``now``.

Anything outside the sandbox (``''.__class__``, private attributes) or that does not parse is an
`ExpressionError`: refused when the graph is saved (`check`), and at run time it fails that node
(its failure output, logged) and never the engine.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_LENGTH = 2000
_SINGLE = re.compile(r"(?<!\{)\{([^{}%#]+)\}(?!\})")
_PRIVATE = re.compile(r"(?:^|[^\w.])_|\._(?!id\b)|\[\s*['\"]_")
_ONLY_DOUBLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_env.globals.clear()
_env.globals.update({"min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float})


class ExpressionError(ValueError):
    """An expression that cannot be compiled or evaluated; `message` is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _to_template(text: str) -> str:
    return _SINGLE.sub(lambda m: "{{ " + m.group(1).strip() + " }}", text)


def _to_expression(text: str) -> str:
    double = _ONLY_DOUBLE.match(text)
    if double:
        text = double.group(1)
    text = text.replace("{{", "(").replace("}}", ")")
    return _SINGLE.sub(lambda m: "(" + m.group(1).strip() + ")", text)


def _bounded(text) -> str:
    if not isinstance(text, str):
        raise ExpressionError("An expression must be text.")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"An expression is at most {MAX_LENGTH} characters.")
    if "\x00" in text:
        raise ExpressionError("An expression cannot contain NUL characters.")
    if _PRIVATE.search(text):
        raise ExpressionError("Names starting with an underscore are outside the sandbox.")
    return text


@functools.lru_cache(maxsize=2048)
def _template(text: str, single_braces: bool = True):
    """The compiled template (compiling costs ~2 ms; a node's text is compiled once per process)."""
    return _env.from_string(_to_template(text) if single_braces else text)


@functools.lru_cache(maxsize=2048)
def _expression(text: str):
    return _env.compile_expression(_to_expression(text), undefined_to_none=False)


def check_template(text, *, single_braces: bool = True) -> None:
    """Raise ExpressionError when the template does not parse. `single_braces=False` (a JSON
    payload, the ``jinja`` fields): only ``{{ }}`` is a placeholder, ``{"a": 1}`` stays text."""
    try:
        _env.from_string(_to_template(_bounded(text)) if single_braces else _bounded(text))
    except TemplateError as error:
        raise ExpressionError(f"The template does not parse: {error.message}") from None


def check_expression(text) -> None:
    """Raise ExpressionError when the expression does not parse."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return
    try:
        _env.compile_expression(_to_expression(_bounded(text)))
    except TemplateError as error:
        raise ExpressionError(f"The expression does not parse: {error.message}") from None


def render(text: str, namespace: dict, *, single_braces: bool = True) -> str:
    """The template's text. ExpressionError on any failure (undefined name, sandbox refusal).
    `single_braces=False`: only ``{{ }}`` is a placeholder (JSON payloads)."""
    try:
        return _template(_bounded(text), single_braces).render(**namespace)
    except ExpressionError:
        raise
    except Exception as error:  # noqa: BLE001 (a user's expression: every failure fails the node)
        raise ExpressionError(f"{type(error).__name__}: {error}") from None


def evaluate(text, namespace: dict):
    """The expression's value (a number stays a number). ExpressionError on any failure."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    try:
        value = _expression(_bounded(text))(**namespace)
    except ExpressionError:
        raise
    except Exception as error:  # noqa: BLE001 (a user's expression: every failure fails the node)
        raise ExpressionError(f"{type(error).__name__}: {error}") from None
    if hasattr(value, "_undefined_hint") or type(value).__name__ == "StrictUndefined":
        raise ExpressionError("The expression names something that does not exist.")
    return value


def evaluate_points(text, namespace: dict) -> int:
    """An expression whose value is a whole number of points (a fraction is rounded half up)."""
    value = evaluate(text, namespace)
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
