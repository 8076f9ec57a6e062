"""The console: the import wizard from upload to the error file, exports, the Jobs page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from customers.models import Customer
from dataio.models import DataExport, DataImport, Job

pytestmark = pytest.mark.django_db

CSV = b"customer_id,First Name,e-mail,shoe\nW-1,Wil,wil@example.com,42\nbad id,X,x@example.com,1\n"


def post(client, url, data=None, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data or {}, **kwargs)


def test_the_wizard_upload_map_validate_run_and_error_file(admin_client, program):
    response = post(
        admin_client,
        "/imports/new/",
        {"model": "customers", "encoding": "utf-8", "file": SimpleUploadedFile("people.csv", CSV)},
    )
    assert response.status_code == 302, response.context["form"].errors
    data_import = DataImport.objects.get()
    assert data_import.status == "uploaded"
    page = admin_client.get(f"/imports/{data_import.pk}/")
    assert "Columns that match no field: shoe" in page.content.decode()
    # the auto-match read "First Name" and "e-mail"
    assert data_import.mapping == {
        "customer_id": "customer_id",
        "First Name": "first_name",
        "e-mail": "email",
        "shoe": "",
    }
    response = post(
        admin_client,
        f"/imports/{data_import.pk}/",
        {"col_0": "customer_id", "col_1": "first_name", "col_2": "email", "col_3": ""},
    )
    assert response.status_code == 302
    data_import.refresh_from_db()
    assert (data_import.status, data_import.total_rows, data_import.validation_errors) == ("validated", 2, 1)
    assert Customer.objects.count() == 0  # validation stores nothing
    page = admin_client.get(f"/imports/{data_import.pk}/").content.decode()
    assert "is not a valid customer ID" in page and "Run import" in page
    post(admin_client, f"/imports/{data_import.pk}/run/")
    data_import.refresh_from_db()
    assert (data_import.status, data_import.created, data_import.failed) == ("finished_with_errors", 1, 1)
    progress = admin_client.get(f"/imports/{data_import.pk}/progress/").content.decode()
    assert "Finished with errors" in progress and "hx-trigger" not in progress  # no polling once done
    assert "Download the error file" in progress
    errors = admin_client.get(f"/imports/{data_import.pk}/errors.csv")
    body = b"".join(errors.streaming_content).decode()
    assert "bad id,X,x@example.com,1,3,customer_id,bad id,113405" in body
    job = Job.objects.get(kind="import")
    assert (job.status, job.done, job.failed, job.total) == ("finished_with_errors", 1, 1, 2)
    jobs_page = admin_client.get("/jobs/").content.decode()
    assert "people.csv" in jobs_page


def test_a_bad_mapping_shows_its_problems_and_changes_nothing(admin_client, program):
    post(
        admin_client,
        "/imports/new/",
        {"model": "customers", "encoding": "utf-8", "file": SimpleUploadedFile("p.csv", CSV)},
    )
    data_import = DataImport.objects.get()
    response = post(
        admin_client,
        f"/imports/{data_import.pk}/",
        {"col_0": "", "col_1": "first_name", "col_2": "email", "col_3": ""},
    )
    assert response.status_code == 200
    assert "A column for &#x27;customer_id&#x27; is required" in response.content.decode()
    data_import.refresh_from_db()
    assert data_import.status == "uploaded"


def test_a_bad_file_is_a_message_on_the_field_not_an_error_page(admin_client, program, settings):
    response = post(
        admin_client,
        "/imports/new/",
        {
            "model": "customers",
            "encoding": "utf-8",
            "file": SimpleUploadedFile("p.csv", "customer_id\nZoë\n".encode("latin-1")),
        },
    )
    assert response.status_code == 200
    assert "not utf-8" in response.content.decode()
    settings.DATAIO_MAX_UPLOAD_BYTES = 5
    response = post(
        admin_client,
        "/imports/new/",
        {"model": "customers", "encoding": "utf-8", "file": SimpleUploadedFile("p.csv", CSV)},
    )
    assert "the limit is 5 bytes" in response.content.decode()
    response = post(
        admin_client,
        "/imports/new/",
        {"model": "coupons", "encoding": "utf-8", "file": SimpleUploadedFile("p.csv", CSV)},
    )
    assert "Choose where the rows go." in response.content.decode()
    assert DataImport.objects.count() == 0


def test_cancel_until_started(admin_client, program):
    post(
        admin_client,
        "/imports/new/",
        {"model": "customers", "encoding": "utf-8", "file": SimpleUploadedFile("p.csv", CSV)},
    )
    data_import = DataImport.objects.get()
    post(admin_client, f"/imports/{data_import.pk}/cancel/")
    data_import.refresh_from_db()
    assert data_import.status == "cancelled"
    post(admin_client, f"/imports/{data_import.pk}/run/")
    data_import.refresh_from_db()
    assert data_import.status == "cancelled" and Customer.objects.count() == 0
    assert Job.objects.get(kind="import").status == "cancelled"


def test_the_template_has_every_field_including_custom_fields(admin_client, program):
    from tests import factories

    factories.CustomFieldFactory(name="shoe_size", type="number")
    body = admin_client.get("/imports/template/?model=customers").content.decode()
    assert body.startswith("customer_id,first_name,last_name") and "shoe_size" in body


def test_an_analyst_exports_and_downloads_but_cannot_import(client, cast, program):
    client.force_login(cast["analyst"])
    assert client.get("/imports/new/").status_code == 403
    response = post(
        client,
        "/exports/new/",
        {"model": "customers", "format": "csv", "date_format": "iso", "fields": "customer_id,status"},
    )
    assert response.status_code == 302
    export = DataExport.objects.get()
    assert export.status == "finished"
    download = client.get(f"/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode().startswith("customer_id,status")
    client.force_login(cast["support_agent"])
    assert client.get(f"/exports/{export.pk}/download/").status_code == 403


def test_the_segment_page_export_lands_pre_filled(admin_client, program):
    from segments.models import Segment

    segment = Segment.objects.create(name="S")
    page = admin_client.get(f"/exports/new/?model=customers&segment={segment.pk}").content.decode()
    assert f'value="segment={segment.pk}"' in page


def test_a_bad_export_filter_is_a_message_on_the_form(admin_client, program):
    response = post(
        admin_client,
        "/exports/new/",
        {"model": "customers", "format": "csv", "date_format": "iso", "query": "f=nosuch:eq:1"},
    )
    assert response.status_code == 200 and "The filter is not valid" in response.content.decode()
    assert DataExport.objects.count() == 0


def test_expiry_and_tier_runs_are_listed_as_jobs(admin_client, program):
    from loyalty.tasks import expire_and_activate, review_tiers

    expire_and_activate()
    review_tiers()
    kinds = set(Job.objects.values_list("kind", "status"))
    assert {("point_expiry", "finished"), ("tier_review", "finished")} <= kinds
    listed = admin_client.get("/jobs/?kind=point_expiry").context["table"].data
    assert [job.label for job in listed] == ["Point expiry and activation"]


def test_track_creates_and_updates_one_row_per_job(program, cast):
    from dataio import jobs

    job = jobs.track(
        "segment_rebuild",
        "segment:1",
        label="Rebuild S",
        status="processing",
        total=10,
        user=cast["administrator"],
    )
    assert job.started_at is not None and job.finished_at is None
    job = jobs.track("segment_rebuild", "segment:1", status="finished", done=10)
    assert (Job.objects.count(), job.label, job.done, job.percent) == (1, "Rebuild S", 10, 100)
    assert job.finished_at is not None and job.started_by == cast["administrator"]


def test_the_customer_list_export_button_carries_its_filter(admin_client, program):
    page = admin_client.get("/customers/?f=country:eq:DE&status=active").content.decode()
    assert (
        'href="/exports/new/?model=customers&amp;query=f%3Dcountry%253Aeq%253ADE%26status%3Dactive"' in page
    )
    form = admin_client.get("/exports/new/?model=customers&query=f%3Dcountry%253Aeq%253ADE%26status%3Dactive")
    assert form.context["form"].initial["query"] == "f=country%3Aeq%3ADE&status=active"
