"""Lifecycle handlers: opt_in, opt_out (anonymization), profile, login, verify, suspend, unsuspend,
ban, unban, merge. Called only by events.engine through its dispatch table.

SCAFFOLD: being implemented (issue 4).
"""

from events.context import HandlerContext


def opt_in(ctx: HandlerContext) -> None:
    raise NotImplementedError


def opt_out(ctx: HandlerContext) -> None:
    raise NotImplementedError


def profile(ctx: HandlerContext) -> None:
    raise NotImplementedError


def login(ctx: HandlerContext) -> None:
    raise NotImplementedError


def verify(ctx: HandlerContext) -> None:
    raise NotImplementedError


def suspend(ctx: HandlerContext) -> None:
    raise NotImplementedError


def unsuspend(ctx: HandlerContext) -> None:
    raise NotImplementedError


def ban(ctx: HandlerContext) -> None:
    raise NotImplementedError


def unban(ctx: HandlerContext) -> None:
    raise NotImplementedError


def merge(ctx: HandlerContext) -> None:
    raise NotImplementedError
