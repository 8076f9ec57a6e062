"""Exports can be cancelled while queued or running (console, Jobs page, API): a running export
stops at its next chunk and keeps no partial file. The chunked writer gives the same file
whatever the chunk size."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import TestCase

from dataio import exports
from dataio.choices import JobKind
from dataio.models import DataExport, Job
from loyalty import clock
from tests.factories import enroll

from .test_api import api  # noqa: F401  (the signed API client fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(program):
    for n in range(5):
        enroll(f"C-{n}", first_name=f"=Name{n}", points=10 * n)


def new_export(**params) -> DataExport:
    return DataExport.objects.create(
        model="customers", environment="live", format="csv", params=params, created_at=clock.now()
    )


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT / "exports"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_queued_export_is_cancelled_and_its_task_then_does_nothing(customers, settings):
    export = new_export()
    exports.queue(export)  # not run: the on-commit callback is not executed
    assert exports.cancel(export)
    exports.run(export.pk)  # the task arriving late
    export.refresh_from_db()
    assert export.status == "cancelled" and not export.file and export.rows == 0
    job = Job.objects.get(kind=JobKind.EXPORT, key=f"export:{export.pk}")
    assert job.status == "cancelled" and not job.cancellable
    assert stored_files(settings) == []
    assert not exports.cancel(export)  # once ended, no second cancel


def test_a_running_export_stops_at_the_next_chunk_and_keeps_no_file(customers, settings, monkeypatch):
    settings.DATAIO_EXPORT_CHUNK_ROWS = 2
    export = new_export(fields=["customer_id"])
    source = exports.SOURCES["customers"]
    seen = []

    def cancelled_after_the_first_chunk(row):
        columns, chunks = source(row)

        def wrapped():
            for chunk in chunks:
                seen.append(len(chunk))
                yield chunk
                if len(seen) == 1:
                    # Someone presses Cancel while the export runs (the real cancel path).
                    assert exports.cancel(DataExport.objects.get(pk=row.pk))

        return columns, wrapped()

    monkeypatch.setitem(exports.SOURCES, "customers", cancelled_after_the_first_chunk)
    exports.queue(export)
    exports.run(export.pk)
    export.refresh_from_db()
    assert export.status == "cancelled", export.message
    assert seen == [2, 2]  # the second chunk was read, but never written: the flag is checked first
    assert "after 2 rows" in export.message
    assert not export.file and export.size == 0
    assert stored_files(settings) == []
    job = Job.objects.get(kind=JobKind.EXPORT, key=f"export:{export.pk}")
    assert (job.status, job.done, job.cancel_requested) == ("cancelled", 2, True)


def test_a_finished_export_cannot_be_cancelled(customers):
    export = new_export()
    with TestCase.captureOnCommitCallbacks(execute=True):
        exports.queue(export)
    export.refresh_from_db()
    assert export.status == "finished"
    assert not exports.cancel(export)
    export.refresh_from_db()
    assert export.status == "finished" and export.file


def test_cancel_from_the_jobs_page_and_the_export_page(admin_client, customers):
    first, second = new_export(), new_export()
    exports.queue(first)
    exports.queue(second)
    job = Job.objects.get(kind=JobKind.EXPORT, key=f"export:{first.pk}")
    page = admin_client.get("/jobs/")
    assert f"/jobs/{job.pk}/cancel/" in page.content.decode()
    admin_client.post(f"/jobs/{job.pk}/cancel/")
    first.refresh_from_db()
    assert first.status == "cancelled"
    detail = admin_client.get(f"/exports/{second.pk}/")
    assert 'data-testid="export-cancel"' in detail.content.decode()
    admin_client.post(f"/exports/{second.pk}/", {"action": "cancel"})
    second.refresh_from_db()
    assert second.status == "cancelled"
    again = admin_client.post(f"/exports/{second.pk}/", {"action": "cancel"}, follow=True)
    assert "cannot be cancelled" in again.content.decode()


def test_an_analyst_may_cancel_an_export_but_not_an_import_job(client, customers):
    from tests.factories import UserFactory

    analyst = UserFactory(role="analyst")
    client.force_login(analyst)
    export = new_export()
    exports.queue(export)
    job = Job.objects.get(kind=JobKind.EXPORT, key=f"export:{export.pk}")
    client.post(f"/jobs/{job.pk}/cancel/")
    export.refresh_from_db()
    assert export.status == "cancelled"
    other = Job.objects.create(
        kind=JobKind.IMPORT, key="import:999999", cancellable=True, created_at=clock.now()
    )
    assert client.post(f"/jobs/{other.pk}/cancel/").status_code == 403


def test_cancel_through_the_api(api, customers):  # noqa: F811
    export = new_export()
    exports.queue(export)
    response = api.post(f"/api/exports/{export.pk}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    again = api.post(f"/api/exports/{export.pk}/cancel")
    assert again.status_code == 422 and again.json()["error"]["field"] == "status"


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_file_is_the_same_whatever_the_chunk_size(customers, settings, fmt):
    fields = ["customer_id", "first_name", "score", "labels", "tier", "balance.points", "created_at"]

    def content(chunk):
        settings.DATAIO_EXPORT_CHUNK_ROWS = chunk
        row = DataExport.objects.create(
            model="customers",
            environment="live",
            format=fmt,
            params={"fields": fields},
            created_at=clock.now(),
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            exports.queue(row)
        row.refresh_from_db()
        assert row.status == "finished", row.message
        if fmt == "xlsx":
            import openpyxl

            return [
                list(r)
                for r in openpyxl.load_workbook(row.file.open("rb")).active.iter_rows(values_only=True)
            ]
        return row.file.read()

    one, many = content(1), content(2000)
    assert one == many
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(one.decode())))
        assert len(rows) == 6 and rows[0] == fields
        assert {r[1] for r in rows[1:]} == {f"'=Name{n}" for n in range(5)}


@pytest.mark.parametrize("date_format", ["iso", "ymd_hms", "dmy_hms", "unix", None])
@pytest.mark.parametrize(
    "value",
    [
        None,
        dt.date(1990, 5, 17),
        dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_the_column_formatter_writes_what_the_per_value_formatter_did(date_format, value):
    assert exports.moment_formatter(date_format)(value) == exports._moment(value, date_format)
