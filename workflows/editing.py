"""Saving a workflow's graph (a new immutable version each time it changes) and its status.

`save_graph` validates the whole graph (workflows.graph.validate_graph; InvalidGraph lists the
errors by node) and stores it as version N+1 when it differs from the current one; runs already
started keep their version. `set_status` activates (only with a valid current version) or
inactivates; runs parked on a wait go on after inactivation, as in the reference.
"""

from __future__ import annotations

from django.db import transaction

from events.permissions import may_register
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


# The event action each action node registers (workflows.actions), as the permission table asks
# it; trigger_event's comes from its configuration. Webhook message registers nothing. Campaign
# bonus registers the internal campaign_bonus event, which nobody registers by hand: placing one
# is adding points, so it asks for point_add.
NODE_ACTIONS = {
    "campaign_bonus": ("point_add",),
    "point_add": ("point_add",),
    "point_sub": ("point_sub",),
    "assign_coupon": ("coupon_assign",),
    "transfer_coupon": ("coupon_transfer",),
    "add_label": ("profile",),
    "remove_label": ("profile",),
    "list_add": ("customer_list_add",),
    "list_remove": ("customer_list_remove",),
    "change_tier": ("tier_change",),
    "remove_tier": ("tier_remove",),
    "reward_claim": ("reward",),
    "suspend": ("suspend",),
    "modify_customer": ("profile",),
    "modify_coupon": ("coupon_expiration_change",),
    "referral_bonus": ("referral_bonus",),
}


def registered_actions(node: dict) -> tuple[str, ...]:
    """The event actions a node of a (valid) graph registers when it runs."""
    if node["type"] == "trigger_event":
        return (str((node.get("config") or {}).get("action", "")),)
    return NODE_ACTIONS.get(node["type"], ())


def check_permissions(graph: dict, user) -> None:
    """Workflow editing asks the one action-permission table (events.permissions.may_register),
    like every console path that registers events: a user may save a graph only when they may
    register every action its nodes register (a program manager cannot make a workflow ban).
    Raises InvalidGraph naming the nodes."""
    errors = [
        GraphError(f"You may not register {action!r} events, so this node cannot use it.", node["id"])
        for node in graph.get("nodes", [])
        for action in registered_actions(node)
        if action and not may_register(user, action)
    ]
    if errors:
        raise InvalidGraph(errors)


def save_settings(workflow: Workflow, fields) -> Workflow:
    """A workflow's settings from the editor's form: a new workflow whole, an existing one only its
    `fields` — its status and version are set_status's and save_graph's: the edited copy, read
    before, saved whole put back a status another user (or the API) changed meanwhile."""
    if workflow.pk is None:
        workflow.save()
    else:
        workflow.save(update_fields=[*fields, "updated_at"])
    return workflow


def save_graph(workflow: Workflow, graph, user=None) -> WorkflowVersion:
    """The workflow's version for `graph` (new when it changed). Raises InvalidGraph (also when
    the console `user` may not register an action the graph registers: check_permissions)."""
    clean = validate_graph(graph, in_campaign=workflow.campaign_id is not None)
    if user is not None:
        check_permissions(clean, user)
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


def set_status(workflow: Workflow, active: bool, user=None) -> None:
    """Activate or inactivate. Raises InvalidGraph when there is no valid version to run, or when
    the console `user` activating it may not register an action its graph registers (as on save:
    check_permissions; the API's key and the system pass None). Inactivating is always allowed."""
    if active:
        if workflow.version is None:
            raise InvalidGraph([GraphError("Save a graph before activating the workflow.")])
        validate_graph(workflow.version.graph, in_campaign=workflow.campaign_id is not None)
        if user is not None:
            check_permissions(workflow.version.graph, user)
    workflow.status = WorkflowStatus.ACTIVE if active else WorkflowStatus.INACTIVE
    if active:
        workflow.activated_at = clock.now(workflow.environment)
    workflow.save(update_fields=["status", "activated_at", "updated_at"])
