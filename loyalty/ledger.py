"""The points ledger: lots, balances, ledger entries. Called only by event handlers.

SCAFFOLD: being implemented (issue 4).
"""

from events.context import HandlerContext


def credit(ctx: HandlerContext, points: int, *, account=None, expires_at=None, activates_at=None) -> None:
    """Add a lot of `points` earned by ctx.event (pending until activates_at)."""
    raise NotImplementedError


def point_add(ctx: HandlerContext) -> None:
    raise NotImplementedError


def point_sub(ctx: HandlerContext) -> None:
    raise NotImplementedError


def point_spend(ctx: HandlerContext) -> None:
    raise NotImplementedError


def point_unspend(ctx: HandlerContext) -> None:
    raise NotImplementedError


def reserve_points(ctx: HandlerContext) -> None:
    raise NotImplementedError


def release_points(ctx: HandlerContext) -> None:
    raise NotImplementedError


def change_expiration(ctx: HandlerContext) -> None:
    raise NotImplementedError


def point_expire(ctx: HandlerContext) -> None:
    raise NotImplementedError


def point_activate(ctx: HandlerContext) -> None:
    raise NotImplementedError
