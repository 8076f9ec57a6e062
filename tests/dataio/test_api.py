"""The API: start an import (multipart) and an export, poll them, download the files."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from customers.models import Customer
from loyalty.api.auth import sign
from loyalty.api.keys import create_api_key
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, db):
    api_key, secret = create_api_key(name="shop", environment="live")
    return ApiClient(client, api_key, secret)


def multipart(api, path, fields, *, content_hash=True, tamper=None):
    """POST a signed multipart body. Signed as the server reads the body for the signature
    (UTF-8, undecodable bytes replaced), with the signed X-Content-Hash header binding the
    exact bytes (required when the body is not UTF-8). `tamper(raw) -> bytes` alters the body
    after signing (a man in the middle)."""
    raw = encode_multipart(BOUNDARY, fields)
    signed_body = raw.decode("utf-8", errors="replace")
    headers = [["x-content-hash", hashlib.sha256(raw).hexdigest()]] if content_hash else []
    signed = sign(
        "POST",
        path,
        key=api.api_key.key,
        secret=api.secret,
        host="testserver",
        body=signed_body,
        headers=headers,
        signed_headers=[name for name, _ in headers],
    )
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in signed}
    extra["HTTP_HOST"] = "testserver"
    body = tamper(raw) if tamper else raw
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api.client.generic("POST", path, data=body, content_type=MULTIPART_CONTENT, **extra)


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
    other_file = multipart(  # a mapping for another file's column was dropped without a word
        api,
        "/api/imports",
        {
            "model": "customers",
            "mapping": '{"customer_id": "customer_id", "E-mail address": "email"}',
            "file": SimpleUploadedFile("p.csv", b"customer_id,email\nA,a@example.com\n"),
        },
    )
    assert other_file.status_code == 400 and other_file.json()["error"]["field"] == "mapping"
    assert "no column 'E-mail address'" in other_file.json()["error"]["message"]
    encoding = multipart(
        api,
        "/api/imports",
        {"model": "customers", "file": SimpleUploadedFile("p.csv", "customer_id\nZoë\n".encode("latin-1"))},
    )
    assert encoding.status_code == 400 and "not utf-8" in encoding.json()["error"]["message"]
    assert api.get("/api/imports/999").status_code == 404


LATIN1_CSV = "customer_id,first_name\nA-1,Zoë\n".encode("latin-1")  # not UTF-8: ë is one byte


def binary_upload():
    return {"model": "customers", "encoding": "windows-1252", "file": SimpleUploadedFile("p.csv", LATIN1_CSV)}


def test_a_binary_upload_with_its_signed_content_hash_is_accepted(api, program):
    response = multipart(api, "/api/imports", binary_upload())
    assert response.status_code == 201, response.content
    polled = api.get(f"/api/imports/{response.json()['id']}").json()
    assert (polled["status"], polled["total_rows"], polled["validation_errors"]) == ("validated", 1, 0)


def test_a_binary_upload_without_a_signed_content_hash_is_refused(api, program):
    from dataio.models import DataImport

    response = multipart(api, "/api/imports", binary_upload(), content_hash=False)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 140109
    assert "X-Content-Hash" in response.json()["error"]["message"]
    assert not DataImport.objects.exists()


def test_a_file_altered_after_signing_is_refused_even_where_the_signature_cannot_see_it(api, program):
    """ë (0xEB) and ì (0xEC) alone are both undecodable: the text the signature covers is the
    same for both files, so only the signed hash of the bytes tells them apart."""
    from dataio.models import DataImport

    def swap(raw: bytes) -> bytes:
        assert raw.count(b"\xeb") == 1
        return raw.replace(b"\xeb", b"\xec")

    assert swap(encode_multipart(BOUNDARY, binary_upload())).decode("utf-8", "replace") == encode_multipart(
        BOUNDARY, binary_upload()
    ).decode("utf-8", "replace")
    response = multipart(api, "/api/imports", binary_upload(), tamper=swap)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 140110
    assert not DataImport.objects.exists()


@pytest.mark.parametrize(
    "fields", [{"model": "customers", "file": SimpleUploadedFile("p.csv", b"customer_id\nA-1\n")}]
)
def test_a_text_upload_altered_after_signing_is_refused(api, program, fields):
    for content_hash, code in ((True, 140104), (False, 140104)):
        response = multipart(
            api,
            "/api/imports",
            dict(fields),
            content_hash=content_hash,
            tamper=lambda raw: raw.replace(b"A-1", b"B-2"),
        )
        fields["file"].seek(0)
        assert response.status_code == 401 and response.json()["error"]["code"] == code


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
