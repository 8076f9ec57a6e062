"""The API: start an import (multipart) and an export, poll them, download the files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from customers.models import Customer
from loyalty.api.keys import create_api_key
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, db):
    api_key, secret = create_api_key(name="shop", environment="live")
    return ApiClient(client, api_key, secret)


def multipart(api, path, fields):
    raw = encode_multipart(BOUNDARY, fields)
    # Signed as the server reads the body for the signature (UTF-8, undecodable bytes replaced).
    signed = raw.decode("utf-8", errors="replace")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api.request("POST", path, body=signed, alter_body=raw, content_type=MULTIPART_CONTENT)


def test_import_through_the_api(api, program):
    response = multipart(
        api,
        "/api/imports",
        {
            "model": "customers",
            "file": SimpleUploadedFile(
                "p.csv", b"customer_id,email\nA-1,a@example.com\nbad id,b@example.com\n"
            ),
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"  # the validation pass runs after the commit
    body = api.get(f"/api/imports/{response.json()['id']}").json()
    assert (body["status"], body["total_rows"], body["validation_errors"]) == ("validated", 2, 1)
    assert body["first_errors"][0]["row"] == 3
    with TestCase.captureOnCommitCallbacks(execute=True):
        started = api.post(f"/api/imports/{body['id']}/start")
    assert started.status_code == 200
    polled = api.get(f"/api/imports/{body['id']}").json()
    assert (polled["status"], polled["created"], polled["failed"]) == ("finished_with_errors", 1, 1)
    errors = api.get(polled["error_file"])
    assert errors.status_code == 200
    assert b"bad id" in b"".join(errors.streaming_content)
    assert Customer.objects.filter(customer_id="A-1").exists()
    again = api.post(f"/api/imports/{body['id']}/start")
    assert again.status_code == 422 and again.json()["error"]["field"] == "status"


def test_api_import_errors_use_the_envelope(api, program):
    no_file = multipart(api, "/api/imports", {"model": "customers"})
    assert no_file.status_code == 400 and no_file.json()["error"]["field"] == "file"
    bad_model = multipart(api, "/api/imports", {"model": "x", "file": SimpleUploadedFile("p.csv", b"a\n1\n")})
    assert bad_model.json()["error"]["field"] == "model"
    unknown = multipart(
        api,
        "/api/imports",
        {"model": "customers", "file": SimpleUploadedFile("p.csv", b"customer_id,colour\nA,red\n")},
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "mapping"
    encoding = multipart(
        api,
        "/api/imports",
        {"model": "customers", "file": SimpleUploadedFile("p.csv", "customer_id\nZoë\n".encode("latin-1"))},
    )
    assert encoding.status_code == 400 and "not utf-8" in encoding.json()["error"]["message"]
    assert api.get("/api/imports/999").status_code == 404


def test_export_through_the_api(api, program):
    from tests.factories import enroll

    enroll("A-1", email="a@example.com")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api.post(
            "/api/exports",
            {"model": "customers", "format": "json", "params": {"fields": ["customer_id", "email"]}},
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    polled = api.get(f"/api/exports/{response.json()['id']}").json()
    assert polled["status"] == "finished" and polled["rows"] == 1
    download = api.get(polled["download"])
    assert b'"email": "a@example.com"' in b"".join(download.streaming_content)
    bad = api.post("/api/exports", {"model": "customers", "params": {"fields": ["secret"]}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "params.fields"
