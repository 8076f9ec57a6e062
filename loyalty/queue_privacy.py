"""Opt-out scrubbing of what the console sessions and the task queue hold (called by
customers.privacy through customers.hooks).

- **Sessions** (`django_session`): flash messages ("Points added to Anna Smith") wait in the
  session until the next page shows them, and the filter bar and column choices are kept there.
  Every unexpired session is decoded; a string holding one of the customer's values (current or
  earlier, customers.privacy.original_values) is scrubbed — also inside the JSON the message
  storage keeps — and the session saved again. Sessions are staff sessions: a few hundred rows.
- **The django-q2 queue** (`django_q_ormq`: signed, pickled task packages waiting for a worker;
  `django_q_task`: finished tasks with their arguments and results; `django_q_schedule`: the
  arguments of scheduled tasks). A package or row that names one of the values has the value
  replaced in its arguments, keyword arguments and result (strings, lists, tuples, dicts, at any
  depth), and is signed again, so a queued task still runs — on the anonymized values.
"""

from __future__ import annotations

import json

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db.models import Q
from django_q.models import OrmQ, Schedule, Task
from django_q.signing import BadSignature, SignedPackage

from customers.privacy import SCRUBBED, _matcher
from loyalty import clock


def scrub(value, matcher):
    """`value` with every match of `matcher` in its strings replaced, at any depth; a string that
    holds JSON is scrubbed as JSON (the message storage keeps its messages so). Other objects
    are returned unchanged."""
    if isinstance(value, str):
        if value[:1] in "[{" and matcher.search(value):
            try:
                decoded = json.loads(value)
            except ValueError:
                return matcher.sub(SCRUBBED, value)
            return json.dumps(scrub(decoded, matcher), separators=(",", ":"))
        return matcher.sub(SCRUBBED, value)
    if isinstance(value, dict):
        return {scrub(k, matcher): scrub(v, matcher) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, matcher) for item in value]
    if isinstance(value, tuple):
        return tuple(scrub(item, matcher) for item in value)
    return value


def _names(value, matcher) -> bool:
    return bool(matcher.search(repr(value))) or bool(
        matcher.search(json.dumps(value, default=repr, ensure_ascii=False))
    )


def scrub_sessions(customer, originals: dict) -> int:
    """Scrub the customer's values from every unexpired session; returns the sessions changed."""
    matcher = _matcher(originals.get("values", []))
    if matcher is None:
        return 0
    store = SessionStore()
    changed = 0
    for session in Session.objects.filter(expire_date__gt=clock.now()).iterator(chunk_size=500):
        data = store.decode(session.session_data)
        if not data or not _names(data, matcher):
            continue
        session.session_data = store.encode(scrub(data, matcher))
        session.save(update_fields=["session_data"])
        changed += 1
    return changed


def scrub_task_queue(customer, originals: dict) -> int:
    """Scrub the customer's values from queued, finished and scheduled django-q2 tasks; returns the
    rows changed."""
    matcher = _matcher(originals.get("values", []))
    if matcher is None:
        return 0
    changed = 0
    for row in OrmQ.objects.all().iterator(chunk_size=500):
        try:
            package = SignedPackage.loads(row.payload)
        except (BadSignature, ValueError, TypeError):
            continue
        if isinstance(package, dict) and _names(package, matcher):
            OrmQ.objects.filter(pk=row.pk).update(payload=SignedPackage.dumps(scrub(package, matcher)))
            changed += 1
    for task in Task.objects.all().only("id", "name", "args", "kwargs", "result").iterator(chunk_size=500):
        if _names([task.name, task.args, task.kwargs, task.result], matcher):
            Task.objects.filter(pk=task.pk).update(
                name=scrub(task.name, matcher),
                args=scrub(task.args, matcher),
                kwargs=scrub(task.kwargs, matcher),
                result=scrub(task.result, matcher),
            )
            changed += 1
    mentions = Q()
    for value in originals.get("values", []):
        if len(value) >= 3:
            mentions |= Q(args__icontains=value) | Q(kwargs__icontains=value) | Q(name__icontains=value)
    if mentions:
        for schedule in Schedule.objects.filter(mentions):
            schedule.args = matcher.sub(SCRUBBED, schedule.args or "")
            schedule.kwargs = matcher.sub(SCRUBBED, schedule.kwargs or "")
            schedule.name = matcher.sub(SCRUBBED, schedule.name or "")
            schedule.save(update_fields=["args", "kwargs", "name"])
            changed += 1
    return changed
