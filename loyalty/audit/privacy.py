"""Opt-out scrubbing of the change log and approval queue (called by customers.privacy).

The change log is append-only; anonymization on opt-out is its one documented exception, made
here and nowhere else: the personal values of the opted-out customer are replaced in the reason,
the before/after diffs and queued requests, while who did what and when stays.
"""

from __future__ import annotations

from django.db import models

from customers.privacy import SCRUBBED, _matcher

from .models import ChangeLogEntry, ChangeRequest


def _scrub(value, matcher):
    if isinstance(value, str):
        return matcher.sub(SCRUBBED, value)
    if isinstance(value, list):
        return [_scrub(item, matcher) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, matcher) for key, item in value.items()}
    return value


# Diff keys that hold program figures, not personal data; everything else in a diff is the
# customer's own (possibly historical) values and is blanked, not just matched.
NON_PERSONAL_KEYS = {"status", "balances", "tiers"}


def _scrub_diff(diff, matcher):
    if not isinstance(diff, dict):
        return _scrub(diff, matcher)
    return {
        key: _scrub(value, matcher) if key in NON_PERSONAL_KEYS else _blank(value)
        for key, value in diff.items()
    }


def _blank(value):
    if isinstance(value, str):
        return SCRUBBED
    if isinstance(value, list):
        return [_blank(item) for item in value]
    if isinstance(value, dict):
        return {key: _blank(item) for key, item in value.items()}
    return value


def scrub_customer(customer, originals: dict) -> None:
    matcher = _matcher(originals.get("values", []))
    if matcher is None:
        return
    entries = ChangeLogEntry.objects.filter(customer=customer).only(
        "id", "reason", "before", "after", "object_repr"
    )
    for entry in entries.iterator(chunk_size=500):
        # Base QuerySet.update: the append-only guard's one documented exception (see docstring).
        models.QuerySet.update(
            ChangeLogEntry.objects.filter(pk=entry.pk),
            reason=_scrub(entry.reason, matcher),
            before=_scrub_diff(entry.before, matcher),
            after=_scrub_diff(entry.after, matcher),
            object_repr=_scrub(entry.object_repr, matcher),
        )
    for request in ChangeRequest.objects.filter(customer=customer).only(
        "id", "data", "reason", "decision_note"
    ):
        ChangeRequest.objects.filter(pk=request.pk).update(
            data=_blank(request.data),
            reason=_scrub(request.reason, matcher),
            decision_note=_scrub(request.decision_note, matcher),
        )
