"""Tier evaluation and manual tier changes. Called only by event handlers and the engine.

SCAFFOLD: being implemented (issue 4).
"""

from events.context import HandlerContext


def snapshot(customer) -> dict[str, str | None]:
    """{structure code: tier code or None} for the customer."""
    return {}


def evaluate(ctx: HandlerContext) -> None:
    """Re-evaluate every tier structure after earned points changed (automatic tier up/down)."""
    return None


def tier_up(ctx: HandlerContext) -> None:
    raise NotImplementedError


def tier_down(ctx: HandlerContext) -> None:
    raise NotImplementedError


def tier_change(ctx: HandlerContext) -> None:
    raise NotImplementedError


def tier_expiration_change(ctx: HandlerContext) -> None:
    raise NotImplementedError
