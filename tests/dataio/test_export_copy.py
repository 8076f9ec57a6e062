"""Customer CSV exports on PostgreSQL are written by COPY (dataio.customer_copy): the file is the
same, byte for byte, as the Python writer's (DATAIO_EXPORT_COPY off, the SQLite path) for every
kind of column, date format, awkward value and filter, and formulas are neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import TestCase

from customers.models import Customer
from dataio import exports
from dataio.models import DataExport
from loyalty import clock
from loyalty.models.tiers import CustomerTier
from tests import factories
from tests.factories import enroll, register

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]

ALL_KINDS = [
    "customer_id",
    "status",
    "first_name",
    "last_name",
    "email",
    "birth_date",
    "address",
    "score",
    "spendable",
    "purchase_total",
    "tier",
    "tier.main",
    "tier.club",
    "labels",
    "balance.points",
    "balance.bonus",
    "custom.shoe_size",
    "custom.note",
    "custom.flag",
    "custom.things",
    "custom.nothing",
    "optin_at",
    "last_login_at",
    "created_at",
]


@pytest.fixture
def awkward(program):
    """Customers with every kind of value a cell can hold, including formula payloads."""
    structure = factories.TierStructureFactory()
    factories.TierStructureFactory(code="club", name="Club", position=1)
    factories.TierFactory(structure=structure, code="bronze", name="=Bronze", threshold=0)
    factories.TierFactory(structure=structure, code="silver", name='Silver, "the" best', threshold=1000)
    factories.PointAccountFactory(code="bonus", name="Bonus")
    for name, kind in (
        ("shoe_size", "number"),
        ("note", "string"),
        ("flag", "boolean"),
        ("things", "string"),
        ("nothing", "string"),
    ):
        factories.CustomFieldFactory(name=name, type=kind)
    enroll("A-1", first_name="Ann", last_name="O'Neil, Jr.", points=1500, birth_date="1990-05-17")
    enroll("B-2", first_name="=cmd|' /C calc'!A0", last_name='say "hi"', points=10)
    enroll("C-3", first_name="-2+3", last_name="multi\nline")
    enroll("D-4", first_name="Zoë", last_name="+1", points=200)
    enroll("E-5")
    for i in range(6, 12):
        enroll(f"F-{i}", first_name=f"Gap{i}", points=i)
    register("profile", "A-1", {"labels": ["vip", "Zed", "early", "1st"]})
    register("profile", "B-2", {"labels": ["minus-one"]})
    register("suspend", "C-3")
    register("point_add", "Z-9", {"points": 5})  # an inactive customer
    values = {
        "A-1": {"shoe_size": 41, "note": "=HYPERLINK(1)", "flag": True, "things": [1, "två", {"a": None}]},
        "B-2": {"shoe_size": 41.5, "note": "", "flag": False, "things": {"k": 'q"uote\\', "n": -1.25}},
        "C-3": {"shoe_size": -7, "note": "plain, with comma", "nothing": None, "things": []},
        "D-4": {"note": "line\nbreak", "things": "@not json"},
    }
    for customer_id, custom in values.items():
        Customer.objects.filter(customer_id=customer_id).update(custom=custom)
    # Values the engine would trim or refuse, as data migrated from elsewhere may hold them.
    Customer.objects.filter(customer_id="C-3").update(email="@home", address="\tTab")
    Customer.objects.filter(customer_id="D-4").update(address="\rCR")
    moment = dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)
    Customer.objects.filter(customer_id="A-1").update(
        last_login_at=moment, optin_at=moment.replace(microsecond=0)
    )
    # Rows due for review are read as they are now (loyalty.tiers.due_rows), like the console.
    CustomerTier.objects.filter(customer__customer_id="D-4").update(
        review_at=clock.now() - dt.timedelta(days=1)
    )


def content(settings, copy: bool, fmt: str = "csv", **params) -> bytes:
    settings.DATAIO_EXPORT_COPY = copy
    row = DataExport.objects.create(
        model="customers", environment="live", format=fmt, params=params, created_at=clock.now()
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        exports.queue(row)
    row.refresh_from_db()
    assert row.status == "finished", row.message
    return row.rows, row.file.read()


@pytest.mark.parametrize("date_format", ["iso", "ymd_hms", "dmy_hms", "unix"])
@pytest.mark.parametrize("chunk", [3, 10_000])
def test_the_copy_written_file_equals_the_python_written_file(awkward, settings, date_format, chunk):
    settings.DATAIO_EXPORT_CHUNK_ROWS = chunk
    params = {"fields": ALL_KINDS, "date_format": date_format}
    copied, python = content(settings, True, **params), content(settings, False, **params)
    assert copied == python
    rows = list(csv.reader(io.StringIO(copied[1].decode())))
    assert copied[0] == len(rows) - 1 == 11  # every customer the list shows (not the inactive Z-9)
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id["B-2"]["first_name"] == "'=cmd|' /C calc'!A0"
    assert by_id["C-3"]["first_name"] == "'-2+3" and by_id["C-3"]["email"] == "'@home"
    assert by_id["C-3"]["address"] == "'\tTab" and by_id["D-4"]["address"] == "'\rCR"
    assert by_id["A-1"]["labels"] == "1st,Zed,early,vip"  # code-point order, as sorted()
    assert by_id["A-1"]["custom.note"] == "'=HYPERLINK(1)" and by_id["A-1"]["custom.flag"] == "True"
    assert by_id["A-1"]["custom.things"] == '[1, "två", {"a": null}]'
    assert by_id["C-3"]["custom.shoe_size"] == "-7"  # a number is not a formula
    assert by_id["A-1"]["tier"] == 'Silver, "the" best' and by_id["D-4"]["tier"] == "'=Bronze"
    if date_format == "iso":
        assert by_id["A-1"]["last_login_at"] == "2026-03-01T12:30:05.123456Z"
        assert by_id["A-1"]["optin_at"] == "2026-03-01T12:30:05Z"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "customer_id"),
        ("", "email"),  # a lone column: an empty cell is "" (a blank line would lose the row)
        ("", "last_login_at"),
        ("f=score:ge:100", "custom.note"),
        ("status=suspended", "first_name"),
        ("q=Gap", "labels"),
    ],
)
def test_one_column_and_filtered_exports_are_the_same_through_copy(awkward, settings, query, field):
    settings.DATAIO_EXPORT_CHUNK_ROWS = 2
    copied = content(settings, True, query=query, fields=[field])
    assert copied == content(settings, False, query=query, fields=[field])
    assert copied[0] == len(list(csv.reader(io.StringIO(copied[1].decode())))) - 1


def test_default_columns_and_a_sparse_filter(awkward, settings):
    """Non-contiguous ids in a chunk (a filter) are selected by id list, contiguous ones by range."""
    settings.DATAIO_EXPORT_CHUNK_ROWS = 4
    copied = content(settings, True, query="f=score:ge:8")
    assert copied == content(settings, False, query="f=score:ge:8")
    ids = [r[0] for r in csv.reader(io.StringIO(copied[1].decode()))][1:]
    assert ids == ["A-1", "B-2", "D-4", "F-8", "F-9", "F-10", "F-11"]
