"""Customer imports: opt_in for new IDs, profile for existing ones, row errors kept and reported."""

from __future__ import annotations

import csv
import io

import pytest

from customers.models import Customer
from dataio.models import ImportRowError
from events.models import Event
from tests.factories import enroll

from .conftest import run_import

pytestmark = pytest.mark.django_db


def test_new_customers_are_enrolled_with_opt_in_through_the_engine(program):
    data_import = run_import(
        "customers",
        "_id,email,first_name,last_name\n"
        "374397439743,john@example.com,John,Bates\n"
        "345454656512,bill@example.com,Bill,Overback\n",
    )
    assert data_import.status == "finished"
    assert (data_import.created, data_import.updated, data_import.failed) == (2, 0, 0)
    john = Customer.objects.get(customer_id="374397439743")
    assert (john.status, john.email, john.first_name) == ("active", "john@example.com", "John")
    event = Event.objects.get(customer=john)
    assert (event.action, event.source) == ("opt_in", "import")
    assert event.reason == f"Import {data_import.pk}: file.csv"


def test_existing_customers_are_updated_with_profile_and_unchanged_rows_register_nothing(program):
    enroll("C-1", first_name="Ann")
    enroll("C-2", first_name="Bob")
    data_import = run_import("customers", "customer_id,first_name\nC-1,Anna\nC-2,Bob\n")
    assert (data_import.created, data_import.updated, data_import.unchanged) == (0, 1, 1)
    assert Customer.objects.get(customer_id="C-1").first_name == "Anna"
    assert list(
        Event.objects.filter(customer__customer_id="C-1").values_list("action", flat=True).order_by("id")
    ) == [
        "opt_in",
        "profile",
    ]
    assert Event.objects.filter(customer__customer_id="C-2").count() == 1


def test_every_row_error_kind_is_reported_and_changes_nothing_for_that_row(program):
    data_import = run_import(
        "customers",
        "customer_id,email,gender\n"
        "ok-1,ok@example.com,female\n"  # row 2: fine
        "bad id!,x@example.com,male\n"  # row 3: invalid ID
        "ok-2,not-an-email,female\n"  # row 4: engine validation
        "ok-3,c@example.com,robot\n"  # row 5: choice
        ",d@example.com,female\n"  # row 6: missing ID
        "ok-1,ok@example.com,female\n"  # row 7: duplicate of row 2
        "ok-1,other@example.com,female\n",  # row 8: conflicting with row 2
    )
    assert data_import.status == "finished_with_errors"
    assert (data_import.created, data_import.failed) == (1, 6)
    errors = {e.row: e for e in ImportRowError.objects.filter(data_import=data_import)}
    assert set(errors) == {3, 4, 5, 6, 7, 8}
    assert errors[3].code == "113405" and errors[3].column == "customer_id"
    assert errors[4].column == "email" and errors[4].value == "not-an-email"
    assert errors[5].column == "gender"
    assert errors[6].code == "missing_value"
    assert errors[7].code == "duplicate_row"
    assert errors[8].code == "conflicting_row"
    assert list(Customer.objects.values_list("customer_id", flat=True)) == ["ok-1"]
    # the error file: the failed rows as uploaded plus row, column, value, code and message
    rows = list(csv.reader(io.StringIO(data_import.error_file.read().decode())))
    assert rows[0] == [
        "customer_id",
        "email",
        "gender",
        "row",
        "error_column",
        "error_value",
        "error_code",
        "error_message",
    ]
    assert [r[3] for r in rows[1:]] == ["3", "4", "5", "6", "7", "8"]
    assert rows[1][:3] == ["bad id!", "x@example.com", "male"]


def test_read_only_attributes_are_refused_at_mapping(program):
    from dataio import wizard

    from .conftest import upload

    data_import = upload("customers", "customer_id,score\nC-1,100\n")
    problems = wizard.save_mapping(data_import, {"customer_id": "customer_id", "score": "score"})
    assert problems and "read-only" in problems[0]
    data_import.refresh_from_db()
    assert data_import.status == "uploaded"


def test_a_formula_payload_is_stored_as_text_and_neutralised_in_the_error_file(program):
    data_import = run_import(
        "customers", 'customer_id,first_name,gender\nF-1,"=HYPERLINK(""http://x"")",robot\n'
    )
    assert data_import.failed == 1
    rows = list(csv.reader(io.StringIO(data_import.error_file.read().decode())))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


def test_the_validation_pass_checks_attribute_values_as_the_engine_does(program):
    from dataio import running, wizard

    from .conftest import upload

    data_import = upload(
        "customers",
        "customer_id,gender,birth_date,email\nV-1,robot,2001-01-01,v@example.com\nV-2,female,2999-01-01,x@example.com\nV-3,male,,nope\n",
    )
    wizard.save_mapping(data_import, data_import.mapping)
    running.validate(data_import.pk)
    data_import.refresh_from_db()
    assert data_import.validation_errors == 3
    assert [e["column"] for e in data_import.preview["errors"]] == ["gender", "birth_date", "email"]
    assert Customer.objects.count() == 0
