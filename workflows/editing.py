"""Saving a workflow's graph (a new immutable version each time it changes) and its status.

`save_graph` validates the whole graph (workflows.graph.validate_graph; InvalidGraph lists the
errors by node) and stores it as version N+1 when it differs from the current one; runs already
started keep their version. `set_status` activates (only with a valid current version) or
inactivates; runs parked on a wait go on after inactivation, as in the reference.
"""

from __future__ import annotations

from django.db import transaction

from loyalty import clock

from .choices import TriggerType, WorkflowStatus
from .graph import GraphError, InvalidGraph, trigger_of, validate_graph
from .models import Workflow, WorkflowVersion

TRIGGER_TYPES = {
    "event_trigger": TriggerType.EVENT,
    "date_trigger": TriggerType.DATE,
    "historical_trigger": TriggerType.HISTORICAL,
    "segment_trigger": TriggerType.SEGMENT,
}


def save_graph(workflow: Workflow, graph, user=None) -> WorkflowVersion:
    """The workflow's version for `graph` (new when it changed). Raises InvalidGraph."""
    clean = validate_graph(graph, in_campaign=workflow.campaign_id is not None)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        current = locked.version
        if current is not None and current.graph == clean:
            return current
        number = (locked.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = WorkflowVersion.objects.create(workflow=locked, number=number, graph=clean, created_by=user)
        kind, action = trigger_of(clean)
        locked.version, locked.trigger_type, locked.trigger_action = version, TRIGGER_TYPES[kind], action
        locked.save(update_fields=["version", "trigger_type", "trigger_action", "updated_at"])
    workflow.refresh_from_db()
    return version


def set_status(workflow: Workflow, active: bool) -> None:
    """Activate or inactivate. Raises InvalidGraph when there is no valid version to run."""
    if active:
        if workflow.version is None:
            raise InvalidGraph([GraphError("Save a graph before activating the workflow.")])
        validate_graph(workflow.version.graph, in_campaign=workflow.campaign_id is not None)
    workflow.status = WorkflowStatus.ACTIVE if active else WorkflowStatus.INACTIVE
    if active:
        workflow.activated_at = clock.now(workflow.environment)
    workflow.save(update_fields=["status", "activated_at", "updated_at"])
