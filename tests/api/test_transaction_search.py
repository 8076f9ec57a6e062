"""`GET|POST /api/customers/{id}/transactions/-/search` (the reference's Transactions API):
`id.in` (comma-separated in a query, a JSON array in a body; up to 5,000), `id`, `status`,
`limit` / `offset`; `{data, total}`; another customer's transactions are never found."""

import pytest

from tests.factories import enroll
from tests.transactions.helpers import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(program):
    enroll()
    for n in range(1, 6):
        checkout(f"T-{n}", total=10 * n)
    enroll("Bob-2")
    checkout("T-B", customer="Bob-2", total=5)


def ids(response):
    assert response.status_code == 200, response.content
    return [t["transaction_id"] for t in response.json()["data"]]


def test_get_by_id_in_and_status(api, orders):
    assert ids(api.get("/api/customers/Anna-1/transactions/-/search?id.in=T-1,T-3,T-9,T-B")) == ["T-1", "T-3"]
    assert ids(api.get("/api/customers/Anna-1/transactions/-/search?id=T-2")) == ["T-2"]
    status = api.get("/api/customers/Anna-1/transactions/-/search?id.in=T-1,T-2").json()["data"][0]["status"]
    found = ids(api.get(f"/api/customers/Anna-1/transactions/-/search?id.in=T-1,T-2&status={status}"))
    assert found == ["T-1", "T-2"]
    other = "rejected" if status != "rejected" else "refunded"
    assert ids(api.get(f"/api/customers/Anna-1/transactions/-/search?id.in=T-1&status={other}")) == []


def test_post_with_a_body_and_paging(api, orders):
    body = {"id.in": ["T-5", "T-4", "T-3", "T-2", "T-1", "T-B"]}
    response = api.post("/api/customers/Anna-1/transactions/-/search?limit=2&offset=1", json=body)
    assert ids(response) == ["T-2", "T-3"] and response.json()["total"] == 5
    assert ids(api.post("/api/customers/Bob-2/transactions/-/search", json=body)) == ["T-B"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "?status=bogus", None, "status"),
        ("get", "?colour=red", None, "colour"),
        ("get", "?limit=0", None, "limit"),
        ("post", "", {"id.in": [f"T-{n}" for n in range(5001)]}, "id.in"),
        ("post", "", {"id.in": ["x" * 129]}, "id.in"),
        ("post", "", ["T-1"], "body"),
    ],
)
def test_bad_criteria_are_a_400_naming_the_field(api, orders, method, path, body, field):
    url = f"/api/customers/Anna-1/transactions/-/search{path}"
    response = api.get(url) if method == "get" else api.post(url, json=body)
    assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_an_unknown_customer_is_160212(api, orders):
    response = api.get("/api/customers/nobody/transactions/-/search?id=T-1")
    assert response.status_code == 404 and response.json()["error"]["code"] == 160212
