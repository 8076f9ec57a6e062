"""The expression language of webhooks (payload templates, incoming mappings and filters) and of
workflows: Jinja2 in its immutable sandbox (no attribute access to internals, no mutation of the
context, `range()` capped by the sandbox).

- `render(template, context)` -> str: a template such as ``{"id": {{ customer.id | tojson }}}``.
- `evaluate(expression, context)` -> value: an expression such as ``body.order.total * 2``.
- `check_template` / `check_expression`: a syntax check for forms (ExpressionError with the line).

Errors are `ExpressionError` (a ValidationError naming no field): undefined names evaluate to
None in expressions (a missing body attribute is a value, not a crash) and render as empty text.
Output is capped at MAX_OUTPUT characters."""

from __future__ import annotations

import functools
import json

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from loyalty.errors import ValidationError

MAX_OUTPUT = 256 * 1024
MAX_SOURCE = 20000


class ExpressionError(ValidationError):
    code = 113450
    default_message = "The expression cannot be evaluated."


class _Env(ImmutableSandboxedEnvironment):
    pass


_env = _Env(autoescape=False, undefined=Undefined)
_env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
_env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)


def _source(text) -> str:
    if not isinstance(text, str):
        raise ExpressionError("An expression must be text.")
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"An expression may be at most {MAX_SOURCE} characters.")
    if "\x00" in text:
        raise ExpressionError("An expression may not contain NUL characters.")
    return text


@functools.lru_cache(maxsize=512)
def _template(text: str):
    return _env.from_string(text)


@functools.lru_cache(maxsize=512)
def _expression(text: str):
    return _env.compile_expression(text, undefined_to_none=True)


def check_template(text: str) -> None:
    try:
        _template(_source(text))
    except TemplateError as error:
        raise ExpressionError(f"Template error on line {getattr(error, 'lineno', '?')}: {error}") from None


def check_expression(text: str) -> None:
    try:
        _expression(_source(text))
    except TemplateError as error:
        raise ExpressionError(f"Expression error: {error}") from None


def render(text: str, context: dict) -> str:
    try:
        output = _template(_source(text)).render(context)
    except (TemplateError, SecurityError) as error:
        raise ExpressionError(f"Template error: {error}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as error:
        raise ExpressionError(f"Template error: {type(error).__name__}: {error}") from None
    if len(output) > MAX_OUTPUT:
        raise ExpressionError(f"The template produced more than {MAX_OUTPUT} characters.")
    return output


def evaluate(text: str, context: dict):
    try:
        return _expression(_source(text))(**context)
    except (TemplateError, SecurityError) as error:
        raise ExpressionError(f"Expression error: {error}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as error:
        raise ExpressionError(f"Expression error: {type(error).__name__}: {error}") from None
