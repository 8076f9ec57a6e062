"""The other apps' hooks the customer lifecycle calls by dotted path: scrubbers on opt-out
(customers.privacy) and mergers on merge (customers.merge). Apps register here, not by import, so
the lifecycle (a domain module) depends on no other app's code; every path must resolve:
`check_hooks()` runs at startup (customers.apps) and a missing hook is ImproperlyConfigured,
never a silent skip.
"""

from __future__ import annotations

import importlib
import inspect

from django.core.exceptions import ImproperlyConfigured

# Functions `(customer, original_values: dict) -> None` that scrub one customer's personal data
# from another app's tables, called in this order on opt-out, by dotted path. An app that stores
# personal data (transaction ids and items, coupon redemptions, stored API responses, change-log
# diffs, list memberships) adds its function here. Every path must resolve: `check_hooks()` runs at
# startup (customers.apps) and a missing scrubber is an ImproperlyConfigured error, never a skip.
PERSONAL_DATA_SCRUBBERS = [
    "transactions.privacy.scrub_customer",
    "coupons.privacy.scrub_customer",
    "loyalty.audit.privacy.scrub_customer",
    "loyalty.api.privacy.scrub_customer",
    "segments.privacy.scrub_customer",
    "workflows.privacy.scrub_customer",
    "webhooks.privacy.scrub_customer",
    "loyalty.queue_privacy.scrub_sessions",
    "loyalty.queue_privacy.scrub_task_queue",
]

# Functions `(source, target) -> None` that move another app's rows (transactions, coupons,
# list memberships) from the source customer to the target, called by dotted path. Every path must
# resolve (check_hooks at startup).
CUSTOMER_MERGERS = [
    "transactions.privacy.merge_customer",
    "coupons.privacy.merge_customer",
    "segments.privacy.merge_customer",
    "workflows.privacy.merge_customer",
]


def resolve_hook(path: str):
    """The function a dotted `module.function` path names; ImproperlyConfigured when it is missing."""
    module_path, name = path.rsplit(".", 1)
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as error:
        raise ImproperlyConfigured(f"The hook {path!r} names a module that does not exist: {error}")
    function = getattr(module, name, None)
    if not callable(function):
        raise ImproperlyConfigured(f"The hook {path!r} names no function.")
    return function


def check_hooks() -> None:
    """Every scrubber and merger resolves (run at startup by customers.apps); raises
    ImproperlyConfigured for a missing one: personal data must never stay behind silently."""
    for path in [*PERSONAL_DATA_SCRUBBERS, *CUSTOMER_MERGERS]:
        resolve_hook(path)


def call_hooks(paths: list[str], *args) -> None:
    """Call each `module.function` path (a missing one raises ImproperlyConfigured).

    A hook may take fewer arguments than offered (a scrubber that needs only the customer):
    it gets the leading ones."""
    for path in paths:
        function = resolve_hook(path)
        function(*args[: _arity(function, len(args))])


def _arity(function, offered: int) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return offered
    if any(p.kind in (p.VAR_POSITIONAL,) for p in parameters):
        return offered
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return min(offered, len(positional))
