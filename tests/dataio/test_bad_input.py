"""Bad files: a clear message at upload or a row error; never an exception, never a half row."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest
from django.test import TestCase

from customers.models import Customer
from dataio import formats, wizard
from dataio.models import DataImport, ImportRowError

from .conftest import run_import, upload

pytestmark = pytest.mark.django_db


def refused_upload(content, name="file.csv", **options) -> str:
    with pytest.raises(formats.FileProblem) as caught:
        upload("customers", content, name, **options)
    assert DataImport.objects.count() == 0
    return caught.value.message


def test_a_file_in_another_encoding_is_refused_with_the_row_and_a_hint(program):
    message = refused_upload("customer_id,first_name\nC-1,Zoë\n".encode("windows-1252"))
    assert "Row 2" in message and "not utf-8" in message and "encoding" in message


def test_choosing_the_right_encoding_reads_it(program):
    data_import = run_import(
        "customers", "customer_id,first_name\nC-1,Zoë\n".encode("windows-1252"), encoding="windows-1252"
    )
    assert data_import.created == 1
    assert Customer.objects.get(customer_id="C-1").first_name == "Zoë"


def test_a_nul_character_is_refused(program):
    assert "NUL" in refused_upload(b"customer_id\nC-\x001\n")


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
def test_the_delimiter_is_detected(program, delimiter):
    content = delimiter.join(["customer_id", "first_name"]) + "\n" + delimiter.join(["C-1", "Ann"]) + "\n"
    data_import = run_import("customers", content)
    assert data_import.delimiter == delimiter
    assert Customer.objects.get(customer_id="C-1").first_name == "Ann"


def test_a_wrong_delimiter_names_the_problem(program):
    data_import = upload("customers", "customer_id;first_name\nC-1;Ann\n", delimiter=",")
    problems = wizard.save_mapping(data_import, data_import.mapping)
    assert any("customer_id" in p and "required" in p for p in problems)


def test_missing_required_columns_and_unknown_columns(program):
    data_import = upload("events", "who,what\nC-1,login\n")
    problems = wizard.save_mapping(data_import, {"who": "", "what": ""})
    assert any("'customer' is required" in p for p in problems)
    assert any("'action' is required" in p for p in problems)
    customers = upload("customers", "customer_id,favourite_colour\nC-1,red\n")
    assert customers.mapping["favourite_colour"] == ""  # unknown: not mapped, shown to the user
    problems = wizard.save_mapping(customers, {"customer_id": "customer_id", "favourite_colour": "colour"})
    assert problems == ["Column 'favourite_colour': 'colour' is not a field of this import."]


def test_an_empty_or_headerless_file(program):
    assert refused_upload(b"") == "The file is empty."
    assert "no name" in refused_upload(b"customer_id,,x\n1,2,3\n")
    assert "appears twice" in refused_upload(b"a,a\n1,2\n")


def test_the_upload_size_limit_is_configurable(program, settings):
    settings.DATAIO_MAX_UPLOAD_BYTES = 10
    assert "limit is 10 bytes" in refused_upload("customer_id\nC-1\n")


def test_a_zip_bomb_passed_off_as_xlsx_is_not_opened(program, settings):
    settings.DATAIO_MAX_XLSX_UNPACKED = 5_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)
    message = refused_upload(buffer.getvalue(), "bomb.xlsx")
    assert "zip bomb" in message or "unpack" in message


def test_a_file_that_is_not_an_xlsx(program):
    assert "not an XLSX" in refused_upload(b"customer_id\nC-1\n", "fake.xlsx")


def xlsx(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_import_and_trailing_empty_rows_are_not_rows(program):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["customer_id", "first_name", "score_in_old_system"])
    sheet.append(["X-1", "Ann", 12.0])
    sheet.cell(row=200_000, column=1).value = None  # formatted far down: empty rows
    for number in range(3, 5000):
        sheet.cell(row=number, column=2).value = ""
    buffer = io.BytesIO()
    workbook.save(buffer)
    data_import = run_import(
        "customers",
        buffer.getvalue(),
        "file.xlsx",
        mapping={"customer_id": "customer_id", "first_name": "first_name", "score_in_old_system": ""},
    )
    assert (data_import.total_rows, data_import.created) == (1, 1)


def test_json_arrays_and_json_lines(program):
    rows = [{"customer_id": "J-1", "first_name": "Jo"}, {"customer_id": "J-2", "labels": ["vip"]}]
    data_import = run_import("customers", json.dumps(rows), "file.json")
    assert data_import.created == 2
    # JSON Lines: the columns are the keys of the first 1,000 objects (an unmapped one is ignored,
    # as the user chose at mapping); a key that first appears later is a row error.
    objects = [{"customer_id": "J-3"}, {"customer_id": "J-4", "colour": "red"}, [1]]
    objects += [{"customer_id": f"K-{n}"} for n in range(1000)] + [{"customer_id": "L-1", "mood": "x"}]
    data_import = run_import("customers", "\n".join(json.dumps(r) for r in objects), "file.jsonl")
    assert (data_import.created, data_import.failed) == (1002, 2)
    assert {e.code for e in ImportRowError.objects.filter(data_import=data_import)} == {
        "unknown_column",
        "not_an_object",
    }


def test_a_row_with_the_wrong_number_of_cells_is_a_row_error(program):
    data_import = run_import("customers", "customer_id,first_name\nC-1,Ann,extra\nC-2,Bo\n")
    assert (data_import.created, data_import.failed) == (1, 1)
    assert ImportRowError.objects.get(data_import=data_import).code == "column_count"


def test_a_damaged_workbook_is_a_message(program):
    good = xlsx([["customer_id"], ["A-1"]])
    archive = io.BytesIO(good)
    damaged = io.BytesIO()
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # cut mid-XML
            target.writestr(info, data)
    message = refused_upload(damaged.getvalue(), "damaged.xlsx")
    assert "cannot be read" in message


def test_utf16_chosen_for_a_file_without_its_byte_order_mark_is_a_message(program):
    # Python's UTF-16 decoder raises a plain UnicodeError here (not UnicodeDecodeError): was a 500.
    content = "customer_id,first_name\nC-1,Zoë\n".encode("utf-16-le")
    assert "not utf-16" in refused_upload(content, encoding="utf-16")
    assert "not utf-16" in refused_upload(content, "file.json", encoding="utf-16")


def test_utf16_with_its_byte_order_mark_is_read(program):
    content = "customer_id,first_name\nC-1,Zoë\n".encode("utf-16")
    data_import = run_import("customers", content, encoding="utf-16")
    assert Customer.objects.get(customer_id="C-1").first_name == "Zoë" and data_import.created == 1


@pytest.mark.parametrize(
    "content",
    [
        b'[{"customer_id": "C-1", "first_name": "a\\u0000b"}]',
        b'[{"customer_id": "C-1", "first\\u0000name": "Ann"}]',
        b'[{"customer_id": "C-1"}, {"customer_id": "C-2", "tags": ["x", "\\u0000"]}]',
    ],
)
def test_a_nul_escape_in_a_json_array_is_refused_at_upload_with_its_row(program, content):
    # The escape is plain ASCII in the file, so the text check did not see it; stored in the
    # import's preview (jsonb) it failed PostgreSQL's insert: a 500.
    message = refused_upload(content, "file.json")
    assert "NUL" in message and "Row" in message


def test_a_nul_escape_in_json_lines_is_a_message_not_a_fault(program):
    assert "NUL" in refused_upload(b'{"customer_id": "C-1", "first_name": "a\\u0000b"}\n', "file.jsonl")
    late = b'{"customer_id": "C-1"}\n' * 1200 + b'{"customer_id": "C-2", "first_name": "\\u0000"}\n'
    data_import = upload("customers", late, "file.jsonl")  # past the upload's look at 1,000 items
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert wizard.save_mapping(data_import, data_import.mapping) == []
    data_import.refresh_from_db()
    assert data_import.status == "failed" and "Line 1201 contains a NUL" in data_import.message
    assert Customer.objects.count() == 0


def test_a_deeply_nested_json_item_is_refused_at_upload(program):
    # 100,000 nested arrays (a 200 KB file) got the worker killed when ijson built the item.
    deep = b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]"
    assert "nested deeper than 32" in refused_upload(deep, "file.json")
    lines = b'{"customer_id": "C-1", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    assert "nested deeper than 32" in refused_upload(lines, "file.jsonl")
    ok = b'[{"customer_id": "C-1", "first_name": ' + b"[" * 31 + b"]" * 31 + b"}]"
    upload("customers", ok, "file.json")  # 32 levels with the item itself: accepted


def test_a_column_name_with_a_nul_is_refused(program):
    assert "NUL" in refused_upload(b'[{"customer_id\\u0000": "C-1"}]', "file.json")


def test_the_error_file_neutralises_formulas_in_the_uploaded_header_too(program):
    # The error file repeats the uploaded columns: a header cell "=HYPERLINK(...)" went out as is.
    content = 'customer_id,"=HYPERLINK(""http://x"")"\nbad id,1\n'
    mapping = {"customer_id": "customer_id", '=HYPERLINK("http://x")': ""}
    data_import = run_import("customers", content, mapping=mapping)
    header = data_import.error_file.open("rb").read().decode().splitlines()[0]
    assert header.startswith("customer_id,\"'=HYPERLINK(") and data_import.failed == 1
