"""One import in partitions (dataio.running): rows split by customer, each partition applied by
its own task from its own checkpoint; the result equals one worker's, on both databases."""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict

import pytest
from django.db import connections

from customers.models import Customer, CustomField
from dataio import running, wizard
from dataio.importers import EventImporter, RowError
from dataio.models import DataImport, ImportPartition, ImportRowError
from events.models import Event
from loyalty.models.ledger import LedgerEntry
from tests.conftest import is_postgres

from .conftest import run_import, upload

pytestmark = pytest.mark.django_db


def events_file(prefix: str, n: int) -> str:
    """Per customer: opt_in, point_add; every 5th spends 1 point, every 7th tries to spend more
    than it has (row error), every 11th repeats its point_add row (duplicate_row)."""
    lines = ["customer,action,points"]
    for i in range(1, n + 1):
        lines += [f"{prefix}-{i},opt_in,", f"{prefix}-{i},point_add,{i}"]
        if i % 5 == 0:
            lines.append(f"{prefix}-{i},point_spend,1")
        if i % 7 == 0:
            lines.append(f"{prefix}-{i},point_spend,{i + 1}")
        if i % 11 == 0:
            lines.append(f"{prefix}-{i},point_add,{i}")
    return "\n".join(lines) + "\n"


def state(data_import: DataImport, prefix: str) -> dict:
    """What an import left, with the prefix taken off the customer IDs: customers, their events
    and ledger entries in order, the import's counts and its row errors."""
    data_import.refresh_from_db()
    cut = len(prefix) + 1
    customers = {
        cid[cut:]: (status, spendable, score)
        for cid, status, spendable, score in Customer.objects.filter(
            customer_id__startswith=f"{prefix}-"
        ).values_list("customer_id", "status", "spendable", "score")
    }
    events, ledger = defaultdict(list), defaultdict(list)
    for cid, action, points in (
        Event.objects.filter(customer__customer_id__startswith=f"{prefix}-")
        .order_by("id")
        .values_list("customer__customer_id", "action", "points")
    ):
        events[cid[cut:]].append((action, points))
    for cid, kind, amount, after in (
        LedgerEntry.objects.filter(customer__customer_id__startswith=f"{prefix}-")
        .order_by("id")
        .values_list("customer__customer_id", "kind", "amount", "spendable_after")
    ):
        ledger[cid[cut:]].append((kind, amount, after))
    return {
        "status": data_import.status,
        "counts": (
            data_import.rows_done,
            data_import.created,
            data_import.updated,
            data_import.unchanged,
            data_import.failed,
        ),
        "errors": list(
            ImportRowError.objects.filter(data_import=data_import).order_by("row").values_list("row", "code")
        ),
        "customers": customers,
        "events": dict(events),
        "ledger": dict(ledger),
    }


def test_a_row_goes_to_the_partition_of_its_customer_by_a_stable_hash():
    field = "customer"
    assert running.partition_of({"customer": "C-17"}, None, field, 4) == zlib.crc32(b"C-17") % 4
    assert running.partition_of({"customer": " C-17 "}, None, field, 4) == zlib.crc32(b"C-17") % 4
    assert running.partition_of({"customer": 17}, None, field, 3) == zlib.crc32(b"17") % 3
    spread = {running.partition_of({"customer": f"C-{i}"}, None, field, 2) for i in range(20)}
    assert spread == {0, 1}
    # no usable key, or a row already failed: partition 0; one partition: always 0
    assert running.partition_of({}, None, field, 4) == 0
    assert running.partition_of(None, None, field, 4) == 0
    assert running.partition_of({"customer": "  "}, None, field, 4) == 0
    assert running.partition_of({"customer": "C-3"}, RowError("column_count", "x"), field, 4) == 0
    assert running.partition_of({"customer": "C-3"}, None, field, 1) == 0
    assert EventImporter.partition_field == "customer"


def validated(model: str, content: str) -> DataImport:
    data_import = upload(model, content)
    assert wizard.save_mapping(data_import, data_import.mapping) == []
    running.validate(data_import.pk)
    data_import.refresh_from_db()
    return data_import


def test_the_number_of_partitions_follows_the_database_the_model_and_the_file(settings):
    settings.DATAIO_IMPORT_PARTITIONS = 3
    events = validated("events", "customer,action\nC-1,opt_in\nC-2,opt_in\n")
    customers = validated("customers", "customer_id,first_name\nC-1,Ann\n")
    coupons = validated("list_members", "customer\nC-1\n")
    external = validated("events", "customer,action\nC-1,opt_in\nemail:ann@example.com,profile\n")
    assert external.preview["external_refs"] == 1 and events.preview["external_refs"] == 0
    if not is_postgres():  # one writer
        assert {running.partition_count(i) for i in (events, customers, coupons, external)} == {1}
        return
    assert running.partition_count(events) == running.partition_count(customers) == 3
    assert running.partition_count(coupons) == 1  # not keyed by customer
    assert running.partition_count(external) == 1  # `field:value` may name a customer of another row
    settings.DATAIO_IMPORT_PARTITIONS = 0  # the cluster's workers
    assert running.partition_count(events) == settings.Q_CLUSTER["workers"]
    events.preview = {}  # started before its validation counted the external references
    assert running.partition_count(events) == 1
    CustomField.objects.create(name="card", label="Card", type="string", external_id=True)
    cards = validated("customers", "customer_id,card\nC-1,X-1\nC-2,X-1\n")
    assert running.partition_count(cards) == 1  # two customers claiming one card: file order decides


@pytest.mark.django_db(transaction=True)
def test_a_partitioned_import_ends_exactly_as_one_partition(settings):
    """P=2 and P=1 over the same rows (other customer IDs) leave the same state; on SQLite both are
    one partition (the same code path)."""
    settings.DATAIO_CHUNK_ROWS = 7
    settings.DATAIO_IMPORT_PARTITIONS = 1
    single = run_import("events", events_file("A", 40))
    settings.DATAIO_IMPORT_PARTITIONS = 2
    split = run_import("events", events_file("B", 40))
    expected = 2 if is_postgres() else 1
    assert (single.partitions, split.partitions) == (1, expected)
    parts = list(
        ImportPartition.objects.filter(data_import=split).values_list("index", "rows_done", "finished_at")
    )
    assert [index for index, _done, _at in parts] == list(range(expected))
    assert all(at is not None for _i, _d, at in parts)
    assert sum(done for _i, done, _at in parts) == split.rows_done == split.total_rows
    one, two = state(single, "A"), state(split, "B")
    assert one == two
    assert one["status"] == "finished_with_errors"
    codes = {code for _row, code in one["errors"]}
    assert "duplicate_row" in codes and len(codes) == 2  # the repeats and the overspends
    # the error file lists the failed rows in row order, whichever partition failed them
    split.refresh_from_db()
    with split.error_file.open("rb") as handle:
        lines = handle.read().decode().splitlines()[1:]
    rows = [int(line.split(",")[3]) for line in lines]
    assert rows == sorted(rows) == [row for row, _code in two["errors"]]


@pytest.mark.django_db(transaction=True)
def test_a_fault_in_one_partition_fails_the_import_and_resume_finishes_from_each_checkpoint(
    settings, monkeypatch
):
    if not is_postgres():
        pytest.skip("partitions run on PostgreSQL only")
    settings.DATAIO_CHUNK_ROWS = 5
    settings.DATAIO_IMPORT_PARTITIONS = 2
    reference = run_import("events", events_file("R", 30))
    data_import = validated("events", events_file("F", 30))
    fault = {"left": 1}
    original = EventImporter.apply

    def apply(self, rows, admin_user, reason):  # a fault (not bad input) in partition 1's 3rd chunk
        if fault["left"] and any(
            running.partition_of({"customer": r.values["customer"]}, None, "customer", 2) == 1 for r in rows
        ):
            if ImportPartition.objects.get(data_import=data_import, index=1).rows_done >= 10:
                fault["left"] = 0
                raise RuntimeError("disk full")
        return original(self, rows, admin_user, reason)

    monkeypatch.setattr(EventImporter, "apply", apply)
    assert running.start(data_import)  # sync mode: partition 0, then partition 1 (which fails)
    data_import.refresh_from_db()
    assert data_import.status == "failed" and "resume to continue" in data_import.message
    done = dict(ImportPartition.objects.filter(data_import=data_import).values_list("index", "rows_done"))
    assert done[1] == 10 and data_import.rows_done == done[0] + done[1]
    assert running.resume(data_import)
    data_import.refresh_from_db()
    assert state(data_import, "F") == state(reference, "R")


@pytest.mark.django_db(transaction=True)
def test_a_chunk_never_commits_after_the_import_stopped(settings, monkeypatch):
    """Another partition fails the import while this chunk is being applied: the chunk's closing
    UPDATE of the import's counts finds it no longer processing and the chunk rolls back."""
    if not is_postgres():
        pytest.skip("needs a second connection writing while the chunk's transaction is open")
    settings.DATAIO_CHUNK_ROWS = 4
    settings.DATAIO_IMPORT_PARTITIONS = 2
    data_import = validated("events", events_file("X", 6))
    DataImport.objects.filter(pk=data_import.pk).update(status="processing")
    original = EventImporter.apply

    def apply(self, rows, admin_user, reason):
        result = original(self, rows, admin_user, reason)

        def fail():
            try:
                running._fail(DataImport.objects.get(pk=data_import.pk), "Stopped (elsewhere).")
            finally:
                connections.close_all()

        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()
        return result

    monkeypatch.setattr(EventImporter, "apply", apply)
    running.open_partitions(DataImport.objects.get(pk=data_import.pk))
    assert running.run_partition(data_import.pk, 0) == "failed"
    data_import.refresh_from_db()
    assert data_import.rows_done == 0 and data_import.status == "failed"
    assert not Event.objects.filter(source="import").exists()
    assert not ImportPartition.objects.filter(data_import=data_import, rows_done__gt=0).exists()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (
            "customer,action,points\n"
            + "".join(f"C-{i},point_add,{i}\n" for i in range(40))
            + "C-1,point_add\n"  # a cell short: a problem, partition 0
            + "\n"  # blank: not a row
            + " C-7 ,point_add,3\n"  # spaces around the ID: C-7's partition
            + ",point_add,4\n",  # no customer: partition 0
            "file.csv",
        ),
        (
            "["
            + ",".join(f'{{"customer": "C-{i}", "action": "point_add", "points": {i}}}' for i in range(30))
            + ', {"customer": 17, "action": "point_add"}, {"customer": "C-3", "action": "x", "bad": 1}, 5]',
            "file.json",
        ),
    ],
)
def test_the_partitions_read_every_row_once_and_each_row_where_partition_of_puts_it(content, name):
    data_import = upload("events", content, name)
    everything = [(number, values) for number, _raw, values, _problem in running.iter_mapped(data_import)]
    seen = []
    for index in range(3):
        for number, _raw, values, problem in running.iter_mapped(data_import, ("customer", 3, index)):
            assert running.partition_of(values, problem, "customer", 3) == index
            seen.append((number, values))
    assert sorted(seen, key=lambda row: row[0]) == everything
    assert len({running.partition_of_key(f"C-{i}", 3) for i in range(30)}) == 3
