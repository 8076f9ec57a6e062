"""Workflow editing asks the one action-permission table (events.permissions.may_register), like
every console path that registers events: a graph is saved only when the user may register every
action its nodes register."""

from __future__ import annotations

import pytest

from events.definitions import BUILTIN_ACTIONS
from events.permissions import may_register
from workflows import editing
from workflows.graph import InvalidGraph
from workflows.models import Workflow
from workflows.nodes import REGISTRY

from .conftest import chain, on_event

pytestmark = pytest.mark.django_db
ROLES = ["administrator", "program_manager", "support_agent", "analyst", "approver"]


def test_a_program_manager_cannot_save_a_workflow_that_bans(program, cast):
    workflow = Workflow.objects.create(name="Fraud")
    graph = chain(on_event("login"), {"id": "ban", "type": "trigger_event", "config": {"action": "ban"}})
    with pytest.raises(InvalidGraph) as refused:
        editing.save_graph(workflow, graph, cast["program_manager"])
    assert [(e.node, "'ban'" in e.message) for e in refused.value.errors] == [("ban", True)]
    assert not workflow.versions.exists()
    # Nor an administrator: ban is console-only, so the engine refused it on every run of the
    # workflow (source automation); the graph is refused on save instead.
    with pytest.raises(InvalidGraph) as refused:
        editing.save_graph(workflow, graph, cast["administrator"])
    assert "only be registered from the console" in str(refused.value)
    assert not workflow.versions.exists()


def test_every_action_node_names_the_actions_it_registers():
    registering = {name for name, node in REGISTRY.items() if node.family in ("action", "modifier")}
    registering -= {"webhook_message", "ab_test", "trigger_event", "interrupt", "modify_event"}
    assert registering == set(editing.NODE_ACTIONS)
    assert set(a for actions in editing.NODE_ACTIONS.values() for a in actions) <= set(BUILTIN_ACTIONS)


@pytest.mark.parametrize("role", ROLES)
def test_every_node_action_and_role_follows_the_table(program, cast, role):
    user = cast[role]
    nodes = [{"id": f"n{i}", "type": t, "config": {}} for i, t in enumerate(editing.NODE_ACTIONS)]
    nodes += [
        {"id": f"t{i}", "type": "trigger_event", "config": {"action": a}}
        for i, a in enumerate(BUILTIN_ACTIONS)
    ]
    for node in nodes:
        expected = all(may_register(user, action) for action in editing.registered_actions(node))
        try:
            editing.check_permissions({"nodes": [node]}, user)
            allowed = True
        except InvalidGraph:
            allowed = False
        assert allowed == expected, (role, node)


def test_activation_asks_the_activating_users_permissions_too(program, cast, client):
    """A workflow saved by an administrator is activated by someone who may edit workflows but not
    register its actions (a custom group without manage_points): refused like a save by them
    would be; inactivating it stays allowed (the safety valve)."""
    from django.contrib.auth.models import Group, Permission
    from django.urls import reverse

    from workflows.choices import WorkflowStatus

    workflow = Workflow.objects.create(name="Bonus")
    editing.save_graph(
        workflow,
        chain(on_event("login"), {"id": "p", "type": "point_add", "config": {"points": 5}}),
        cast["administrator"],
    )
    editor = cast["nobody"]
    group = Group.objects.create(name="Workflow editors only")
    group.permissions.set(
        Permission.objects.filter(
            codename__in=["view_console", "manage_workflows"], content_type__app_label="loyalty"
        )
    )
    editor.groups.add(group)
    client.force_login(editor)
    response = client.post(reverse("workflows:workflow_status", args=[workflow.pk, "activate"]), follow=True)
    assert response.status_code == 200 and "point_add" in response.content.decode()  # the refusal
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.INACTIVE
    with pytest.raises(InvalidGraph, match="'point_add'"):
        editing.set_status(workflow, True, editor)
    editing.set_status(workflow, True, cast["administrator"])
    client.post(reverse("workflows:workflow_status", args=[workflow.pk, "inactivate"]))
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.INACTIVE
