"""Historical transactions: past purchases with their items, through the engine (`checkout`,
source import, the import named), stored without earning unless the import asks, never changing
a stored transaction; every row-error kind."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from dataio.models import ImportRowError
from events.engine import register_event
from events.models import Event
from loyalty.errors import ValidationError
from tests import factories
from tests.factories import enroll, live, register
from transactions.models import Transaction

from .conftest import run_import, upload

pytestmark = pytest.mark.django_db

ITEMS = json.dumps([{"product_id": "P1", "product_name": "Shoe", "quantity": 2, "price": 30, "subtotal": 60}])


def csv_text(*rows) -> str:
    """A CSV file with the header below; `items` cells quoted (they hold JSON)."""
    lines = ["transaction_id,customer,date,total,currency,items"]
    for tid, customer, date, total, items in rows:
        quoted = '"' + items.replace('"', '""') + '"' if items else ""
        lines.append(f"{tid},{customer},{date},{total},EUR,{quoted}")
    return "\n".join(lines) + "\n"


def errors(data_import) -> dict[int, ImportRowError]:
    return {e.row: e for e in ImportRowError.objects.filter(data_import=data_import)}


@pytest.fixture
def shopper(program):
    factories.EarningRuleFactory()  # 1 point per unit: a plain checkout would earn
    return enroll("S-1")


def test_a_past_purchase_is_stored_with_its_items_and_earns_nothing(shopper):
    data_import = run_import("transactions", csv_text(("T-100", "S-1", "2024-03-01T10:00:00Z", "60", ITEMS)))
    assert (data_import.status, data_import.created, data_import.failed) == ("finished", 1, 0)
    tx = Transaction.objects.get(transaction_id="T-100")
    assert (tx.status, tx.total, tx.currency, tx.points_earned) == ("accepted", Decimal("60"), "EUR", 0)
    assert tx.checkout_at == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    assert [(i.product_id, i.quantity, i.subtotal) for i in tx.items.all()] == [("P1", 2, Decimal("60"))]
    customer = live("S-1")
    assert customer.spendable == 0 and customer.score == 0
    assert (customer.purchase_count, customer.purchase_total) == (1, Decimal("60"))
    assert customer.purchase_last_date == dt.date(2024, 3, 1)
    event = Event.objects.get(action="checkout", customer=customer)
    assert event.source == "import" and event.reason.startswith(f"Import {data_import.pk}:")
    assert event.effective_at == tx.checkout_at and event.points == 0
    assert not Event.objects.filter(action="checkout_item").exists()


def test_with_the_earn_option_the_purchase_earns_by_the_rule(shopper):
    data_import = run_import(
        "transactions",
        csv_text(("T-200", "S-1", "2024-03-01", "60", ITEMS)),
        earn=True,
    )
    assert data_import.earn and data_import.created == 1
    tx = Transaction.objects.get(transaction_id="T-200")
    assert tx.points_earned == 60
    assert live("S-1").spendable == 60


def test_the_earn_option_is_ignored_for_other_models(program):
    assert not upload("customers", "customer_id\nA-1\n", earn=True).earn


def test_every_row_error_kind_and_nothing_half_applied(shopper):
    enroll("S-2")
    register(
        "checkout",
        "S-2",
        {"transaction_id": "T-OLD", "total": 5, "items": [{"product_id": "X", "subtotal": 5}]},
    )
    old = Transaction.objects.get(transaction_id="T-OLD")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    data_import = run_import(
        "transactions",
        csv_text(
            ("T-1", "S-1", "2024-01-01", "60", ITEMS),  # 2: fine
            ("", "S-1", "2024-01-01", "1", ""),  # 3: missing_value
            ("T-3", "bad id", "2024-01-01", "1", ""),  # 4: 113405
            ("T-4", "S-1", "yesterday-ish", "1", ""),  # 5: invalid_date
            ("T-5", "S-1", future, "1", ""),  # 6: invalid_date (future)
            ("T-6", "S-1", "2024-01-01", "1", "not json"),  # 7: invalid_items
            ("T-7", "S-1", "2024-01-01", "1", '{"product_id": "P"}'),  # 8: invalid_items (not a list)
            ("T-8", "S-1", "2024-01-01", "abc", ""),  # 9: 113400 (total not a number)
            ("T-9", "S-1", "2024-01-01", "1", '[{"quantity": -1}]'),  # 10: 113400 (item)
            ("T-1", "S-1", "2024-01-01", "60", ITEMS),  # 11: duplicate_row
            ("T-1", "S-2", "2024-01-01", "60", ITEMS),  # 12: conflicting_row
            ("T-OLD", "S-2", "2024-01-01", "7", ""),  # 13: transaction_exists
            ("T-13", "Nobody-1", "2024-01-01", "1", ""),  # 14: 160212
        ),
    )
    assert data_import.status == "finished_with_errors"
    assert (data_import.created, data_import.failed) == (1, 12)
    codes = {row: e.code for row, e in errors(data_import).items()}
    assert codes == {
        3: "missing_value",
        4: "113405",
        5: "invalid_date",
        6: "invalid_date",
        7: "invalid_items",
        8: "invalid_items",
        9: "113400",
        10: "113400",
        11: "duplicate_row",
        12: "conflicting_row",
        13: "transaction_exists",
        14: "160212",
    }
    assert errors(data_import)[13].column == "transaction_id"
    # The stored transaction is untouched, nothing was stored for a failed row.
    old.refresh_from_db()
    assert (old.total, old.customer.customer_id, old.status) == (Decimal("5"), "S-2", "accepted")
    assert set(Transaction.objects.values_list("transaction_id", flat=True)) == {"T-OLD", "T-1"}
    assert live("S-1").purchase_count == 1
    content = data_import.error_file.read().decode()
    assert "transaction_exists" in content and "T-OLD" in content


def test_a_draft_with_the_same_id_is_not_turned_into_a_purchase(shopper):
    register("checkout_update", "S-1", {"transaction_id": "T-D", "total": 10})
    data_import = run_import("transactions", csv_text(("T-D", "S-1", "2024-01-01", "10", "")))
    assert errors(data_import)[2].code == "transaction_exists"
    assert Transaction.objects.get(transaction_id="T-D").status == "draft"


def test_an_id_stored_between_the_check_and_the_checkout_is_a_row_error_too(shopper, monkeypatch):
    """The engine's own refusal (a transaction committed by someone else in between) maps to
    the same code."""
    from dataio import importers

    real_apply = importers.TransactionImporter.apply

    def racing_apply(self, rows, admin_user, reason):
        real_check = Transaction.objects.filter

        def later(*args, **kwargs):
            monkeypatch.setattr(Transaction.objects, "filter", real_check)
            register("checkout", "S-1", {"transaction_id": "T-RACE", "total": 1})
            return real_check(*args, **kwargs)

        monkeypatch.setattr(Transaction.objects, "filter", later)
        return real_apply(self, rows, admin_user, reason)

    monkeypatch.setattr(importers.TransactionImporter, "apply", racing_apply)
    data_import = run_import("transactions", csv_text(("T-RACE", "S-1", "2024-01-01", "9", "")))
    assert errors(data_import)[2].code == "transaction_exists"
    assert Transaction.objects.get(transaction_id="T-RACE").total == Decimal("1")


def test_a_json_file_carries_items_as_a_real_array(shopper):
    content = json.dumps(
        [{"transaction_id": "J-1", "customer": "S-1", "date": "2023-12-24", "items": json.loads(ITEMS)}]
    )
    data_import = run_import("transactions", content, name="history.json")
    assert data_import.created == 1
    assert Transaction.objects.get(transaction_id="J-1").items.get().product_name == "Shoe"


def test_the_template_names_every_field(admin_client, program):
    response = admin_client.get("/imports/template/?model=transactions")
    header = response.content.decode().strip().split(",")
    assert header == [
        "transaction_id",
        "customer",
        "date",
        "total",
        "currency",
        "channel",
        "items",
        "account",
    ]


def test_only_imports_may_register_a_historical_checkout(shopper):
    with pytest.raises(ValidationError) as refused:
        register_event(
            environment="live",
            customer="S-1",
            action="checkout",
            data={"transaction_id": "H-1", "total": 5, "historical": True},
        )
    assert refused.value.field == "data.historical"
    assert not Transaction.objects.filter(transaction_id="H-1").exists()


def test_a_role_that_may_not_register_checkouts_gets_permission_denied(shopper):
    from django.test import TestCase

    from dataio import running, wizard
    from dataio.models import DataImport

    analyst = factories.UserFactory(role="analyst")
    data_import = upload("transactions", csv_text(("T-P", "S-1", "2024-01-01", "1", "")), user=analyst)
    with TestCase.captureOnCommitCallbacks(execute=True):
        wizard.save_mapping(data_import, data_import.mapping)
    data_import = DataImport.objects.get(pk=data_import.pk)
    assert data_import.preview["errors"][0]["code"] == "permission_denied"
    with TestCase.captureOnCommitCallbacks(execute=True):
        running.start(data_import)
    data_import.refresh_from_db()
    assert data_import.failed == 1 and not Transaction.objects.filter(transaction_id="T-P").exists()
