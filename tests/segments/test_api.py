"""Segments and customer lists in the API: reads, members, fields=segments, list entities, bulk."""

import pytest

from segments.building import rebuild
from segments.models import CustomerList, CustomerListMember, Segment

from .test_conditions import leaf, tree


@pytest.fixture
def data(program, enroll_customer):
    program.segments = True
    program.save()
    enroll_customer("a", points=100)
    enroll_customer("b", points=5)
    rich = Segment.objects.create(name="Rich", conditions=tree(leaf("score", "ge", "50")))
    rebuild(rich)
    Segment.objects.create(name="Old", status="archived")
    return rich


def test_segments_list_detail_members(api, data):
    listed = api.get("/api/segments").json()
    assert [s["name"] for s in listed["segments"]] == ["Rich"] and listed["next"] is None
    assert listed["segments"][0]["member_count"] == 1
    archived = api.get("/api/segments?status=archived").json()
    assert [s["name"] for s in archived["segments"]] == ["Old"]
    detail = api.get(f"/api/segments/{data.pk}").json()
    assert detail["conditions"] == tree(leaf("score", "ge", "50")) and detail["status"] == "active"
    members = api.get(f"/api/segments/{data.pk}/members").json()
    assert [m["customer"] for m in members["members"]] == ["a"]
    missing = api.get("/api/segments/99999")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "id"
    bad = api.get("/api/segments?status=nope")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"


def test_customer_fields_segments_and_lists(api, data):
    customer_list = CustomerList.objects.create(name="Newsletter")
    api.post(
        "/api/events",
        json={"customer": "a", "action": "customer_list_add", "data": {"list": customer_list.pk}},
    )
    body = api.get("/api/customers/a?fields=segments,lists").json()
    assert body["segments"] == [{"id": data.pk, "name": "Rich"}]
    assert body["lists"] == [{"id": str(customer_list.pk), "name": "Newsletter"}]
    assert "segments" not in api.get("/api/customers/a").json()


def test_list_entities_lifecycle(api, data):
    created = api.request("PUT", "/api/entities/core/customer-list", json={"name": "VIP"})
    assert created.status_code == 200, created.json()
    entity_id = created.json()["id"]
    assert api.get(f"/api/entities/core/customer-list/{entity_id}").json()["name"] == "VIP"
    updated = api.post(
        f"/api/entities/core/customer-list/{entity_id}", json={"name": "VIPs", "status": "inactive"}
    )
    assert updated.json()["name"] == "VIPs" and updated.json()["status"] == "inactive"
    assert [e["name"] for e in api.get("/api/entities/core/customer-list").json()["data"]] == ["VIPs"]
    archived = api.request("DELETE", f"/api/entities/core/customer-list/{entity_id}")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"


def test_archiving_an_active_list_is_refused(api, data):
    entity_id = api.request("PUT", "/api/entities/core/customer-list", json={"name": "VIP"}).json()["id"]
    refused = api.request("DELETE", f"/api/entities/core/customer-list/{entity_id}")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "status"
    missing_name = api.request("PUT", "/api/entities/core/customer-list", json={"description": "x"})
    assert missing_name.status_code == 400 and missing_name.json()["error"]["field"] == "name"


def test_bulk_add_status_and_errors(api, data, django_capture_on_commit_callbacks):
    customer_list = CustomerList.objects.create(name="VIP")
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(
            f"/api/v1/bulk-operation/customer-list/add/{customer_list.pk}",
            json={"customers": ["a", "ghost", "b"]},
        )
    assert queued.status_code == 200 and queued.json()["status"] == "success"
    batch = queued.json()["payload"]["batch_id"]
    status = api.get(f"/api/v1/bulk-operation/customer-list/{batch}/status").json()
    assert status["payload"]["batch_status"] == "done" and status["payload"]["number_of_customers"] == 3
    assert status["metadata"]["bulk_operation_error"]["number_of_errors"] == 1
    errors = api.get(f"/api/v1/bulk-operation/customer-list/{batch}/status/errors?offset=0&limit=100").json()
    assert errors["metadata"]["pagination"]["total"] == 1
    assert (
        errors["payload"]
        == [
            {
                "customer": "ghost",
                "customer_list": str(customer_list.pk),
                "error_message": "Customer 'ghost' not found.",
                "error_code": 160212,
            }
        ]
        or errors["payload"][0]["error_code"] == 160212
    )
    assert CustomerListMember.objects.filter(customer_list=customer_list).count() == 2
    bad = api.post(f"/api/v1/bulk-operation/customer-list/add/{customer_list.pk}", json={"customers": "a"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "customers"
    unknown = api.get("/api/v1/bulk-operation/customer-list/not-a-batch/status")
    assert unknown.status_code == 404


def test_another_environments_bulk_operation_is_a_404(api, data, client, django_capture_on_commit_callbacks):
    """Before: a sandbox key read a live batch's status and its errors (the live customer
    references that failed) by its batch ID. After: 404 160404, as an unknown batch."""
    from loyalty.api.keys import create_api_key
    from tests.api.conftest import ApiClient

    customer_list = CustomerList.objects.create(name="VIP")
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(
            f"/api/v1/bulk-operation/customer-list/add/{customer_list.pk}", json={"customers": ["a", "ghost"]}
        )
    batch = queued.json()["payload"]["batch_id"]
    sandbox = ApiClient(client, *create_api_key(name="sandbox", environment="sandbox"))
    for path in ("/status", "/status/errors"):
        response = sandbox.get(f"/api/v1/bulk-operation/customer-list/{batch}{path}")
        assert response.status_code == 404, response.content
        assert response.json()["error"]["field"] == "batch_id"
        assert api.get(f"/api/v1/bulk-operation/customer-list/{batch}{path}").status_code == 200
