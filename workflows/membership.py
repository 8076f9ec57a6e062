"""Segment entered / left triggers, fired by the membership change itself.

Whatever changes a segment's membership (a build, `segments.building.rebuild`; archiving,
`clear_members`; a static segment's import, `dataio.importers.SegmentMemberImporter`) stamps the
changed `SegmentMember` rows with one moment `at` (entered_at = at for those who entered,
left_at = at for those who left) and calls `changed(segment_pk, at, entered=..., left=...)` inside
its transaction. When an active workflow listens to that segment and direction, one django-q2
task (`workflows.tasks.run_segment_changes`, by dotted path: this module sits below the tasks)
is queued **after commit** for the whole change: a build of 200,000 members is one task, which
walks the changed rows in chunks.

Exactly once per (segment, customer, change): a change is one SegmentMember row and a direction,
and its run's occurrence key is ``seg-<member id>-<entered|left>`` under the unique (workflow,
customer, occurrence) constraint, so a redelivered task, a second task for the same moment or the
recovery sweep find the run and walk nothing again. A build re-run over unchanged data changes no
row, so it queues nothing.

Crash safety: a process that dies between the commit and the queueing loses the task; the minute
tick's recovery sweep (`workflows.tasks.sweep_segment_changes`) walks the changes older than
SEGMENT_SWEEP_GRACE that have no run yet. Customer lists are not segments: adding to / removing from
a list is an event (`customer_list_add` / `customer_list_remove`), for Event triggers.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django_q.tasks import async_task

from loyalty import configcache

from .choices import TriggerType, WorkflowStatus
from .graph import Graph
from .models import Workflow

CACHE_KEY = "workflows:segment-triggers"
DIRECTIONS = ("entered", "left")


def segment_workflows():
    """Yield (workflow, segment pk, direction) for every active workflow with a segment trigger
    (read from its active version's graph)."""
    rows = Workflow.objects.filter(
        status=WorkflowStatus.ACTIVE, trigger_type=TriggerType.SEGMENT, version__isnull=False
    ).select_related("version")
    for workflow in rows:
        trigger = Graph(workflow.version.graph).trigger
        if trigger is None or trigger["type"] != "segment_trigger":
            continue
        yield workflow, int(trigger["config"]["segment"]), trigger["config"]["direction"]


def _load() -> dict[int, frozenset[str]]:
    table: dict[int, set[str]] = {}
    for _workflow, segment, direction in segment_workflows():
        table.setdefault(segment, set()).add(direction)
    return {segment: frozenset(directions) for segment, directions in table.items()}


def listening() -> dict[int, frozenset[str]]:
    """{segment pk: the directions active segment workflows listen to}, kept in process memory
    (loyalty.configcache: a workflow's save drops it)."""
    return configcache.get(CACHE_KEY, _load)


def changed(segment_pk: int, at: dt.datetime, *, entered: bool, left: bool) -> bool:
    """Call inside the transaction that stamped the segment's changed memberships with `at`
    (aware datetime; entered / left: whether rows entered / left). Queues one task after commit
    when an active workflow listens; returns whether it will. Nothing is queued on rollback."""
    wanted = {name for name, flag in zip(DIRECTIONS, (entered, left), strict=True) if flag}
    directions = sorted(wanted & listening().get(segment_pk, frozenset()))
    if not directions:
        return False
    moment = at.isoformat()
    transaction.on_commit(
        lambda: async_task(
            "workflows.tasks.run_segment_changes",
            segment_pk,
            moment,
            directions,
            task_name=f"workflows-segment-{segment_pk}",
        )
    )
    return True
