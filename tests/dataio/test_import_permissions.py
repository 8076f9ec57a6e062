"""Imports ask the one action-permission table (events.permissions.may_register), like every
console path that registers events: a console user's file cannot register an action their role
does not hold (a program manager cannot ban by importing `ban` rows)."""

from __future__ import annotations

import pytest

from customers.models import Customer
from dataio.importers import EventImporter, Row, RowError
from dataio.models import DataImport, ImportRowError
from events.definitions import BUILTIN_ACTIONS
from events.models import Event
from events.permissions import may_register
from tests.factories import enroll

from .conftest import run_import

pytestmark = pytest.mark.django_db


def test_a_program_manager_cannot_ban_through_an_events_import(program, cast):
    enroll("C-1")
    data_import = run_import(
        "events",
        "customer,action,points,reason\nC-1,point_add,100,migration\nC-1,ban,,fraud\n",
        user=cast["program_manager"],
    )
    assert data_import.status == "finished_with_errors"
    (error,) = ImportRowError.objects.filter(data_import=data_import)
    assert (error.row, error.code, error.column, error.value) == (3, "permission_denied", "action", "ban")
    customer = Customer.objects.get(customer_id="C-1")
    assert customer.status != "banned" and customer.spendable == 100
    assert not Event.objects.filter(customer=customer, action="ban").exists()


def test_an_administrator_passes_the_table_and_meets_the_engine_rule(program, cast):
    """The administrator holds the permission; `ban` is then refused by the engine itself, as a
    console-only action (113406) — the table is asked first, the engine's rules still hold."""
    enroll("C-1")
    data_import = run_import("events", "customer,action,reason\nC-1,ban,fraud\n", user=cast["administrator"])
    (error,) = ImportRowError.objects.filter(data_import=data_import)
    assert error.code == "113406"
    assert Customer.objects.get(customer_id="C-1").status != "banned"


@pytest.mark.parametrize("role", ["administrator", "program_manager", "support_agent", "analyst", "approver"])
def test_every_action_and_role_follows_the_table(program, cast, role):
    user = cast[role]
    importer = EventImporter(DataImport(model="events", environment="live", created_by=user))
    for action in BUILTIN_ACTIONS:
        row = Row(number=2, raw={}, values={"customer": "C-1", "action": action})
        row.payload = type("Item", (), {"action": action})()
        try:
            importer.permitted(row)
            allowed = True
        except RowError as error:
            assert error.code == "permission_denied"
            allowed = False
        assert allowed == may_register(user, action), (role, action)
