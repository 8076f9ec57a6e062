"""The customer list: columns, sorting on indexed columns, keyset pages, capped count, access,
and a query count that does not grow with the rows shown."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.views.lists import SORTS
from loyalty.console.paging import COUNT_CAP
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access

LIST = reverse("customers:customer_list")


def ids(response) -> list[str]:
    return [c.customer_id for c in response.context["table"].data.data]


@pytest.fixture
def many(program):
    for n in range(30):
        enroll(
            f"cust-{n:02d}",
            first_name=f"F{n:02d}",
            last_name=f"L{29 - n:02d}",
            email=f"c{n:02d}@example.com",
            points=(n * 37) % 101 + 1,
        )


def test_every_staff_role_sees_the_list(client, cast, program):
    assert_page_access(client, cast, LIST, allowed=STAFF_ROLES)


def test_columns_and_open_button(admin_client, anna):
    response = admin_client.get(LIST)
    html = response.content.decode()
    headers = [str(c.header) for c in response.context["table"].columns if c.visible]
    assert headers == [
        "Name",
        "Email",
        "Score",
        "Spent",
        "Expired",
        "Spendable",
        "Last login",
        "Last activity",
        "Created",
        "ID",
        "Status",
        "Tier",
        "",
    ]
    assert '<a href="?sort=score">Score</a>' in html and "?sort=status" not in html
    assert 'href="/customers/Anna-1/"' in html and ">Open<" in html
    assert "anna@example.com" in html


def test_column_chooser_hides_columns(admin_client, anna):
    response = admin_client.get(LIST, {"columns": "email,score"})
    table = response.context["table"]
    visible = [c.name for c in table.columns if c.visible]
    assert visible == ["name", "email", "score", "open"]


def test_newest_first_by_default_and_keyset_pages(admin_client, many):
    first = admin_client.get(LIST, {"per_page": 10})
    assert ids(first) == [f"cust-{n:02d}" for n in range(29, 19, -1)]
    assert first.context["prev_url"] is None
    second = admin_client.get(first.context["next_url"])
    assert ids(second) == [f"cust-{n:02d}" for n in range(19, 9, -1)]
    back = admin_client.get(second.context["prev_url"])
    assert ids(back) == ids(first)
    third = admin_client.get(second.context["next_url"])
    assert ids(third) == [f"cust-{n:02d}" for n in range(9, -1, -1)]
    assert third.context["next_url"] is None


@pytest.mark.parametrize("sort", ["score", "-score", "name", "-name", "email", "-spendable", "customer_id"])
def test_sorting_walks_every_row_once_in_order(admin_client, many, sort):
    from customers.models import Customer

    column = SORTS[sort.lstrip("-")]
    desc = sort.startswith("-")
    expected = list(
        Customer.objects.order_by(f"{'-' if desc else ''}{column}", f"{'-' if desc else ''}id").values_list(
            "customer_id", flat=True
        )
    )
    seen, url, params = [], LIST, {"sort": sort, "per_page": 7}
    while url:
        response = admin_client.get(url, params)
        seen += ids(response)
        url, params = response.context["next_url"], None
    assert seen == expected


def test_unknown_sort_falls_back_to_newest_first(admin_client, many):
    assert ids(admin_client.get(LIST, {"sort": "last_login_at", "per_page": 3})) == [
        "cust-29",
        "cust-28",
        "cust-27",
    ]


def test_bad_cursor_is_ignored(admin_client, many):
    assert len(ids(admin_client.get(LIST, {"after": "nope", "per_page": 5}))) == 5
    assert len(ids(admin_client.get(LIST, {"after": "99999999", "sort": "score", "per_page": 5}))) == 5


def test_count_is_capped(admin_client, many):
    from loyalty.console.paging import capped_count

    response = admin_client.get(LIST)
    assert response.context["count"] == 30 and not response.context["count_capped"]
    assert "30 customers" in response.content.decode()
    assert COUNT_CAP == 1000
    assert capped_count(response.context["view"].filtered_queryset(), cap=10) == (10, True)


def test_no_unbounded_count(admin_client, many):
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(LIST, {"f": "score:ge:1"})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_query_count_does_not_grow_with_rows(admin_client, program):
    for n in range(30):
        enroll(f"q-{n}", first_name="Q", email=f"q{n}@example.com", points=5)

    def count(per_page):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(LIST, {"per_page": per_page, "f": "score:ge:1"})
        assert len(ids(response)) == per_page
        return len(queries)

    assert count(5) == count(30)


def test_external_id_opens_the_profile(admin_client, program):
    from customers.models import CustomField

    CustomField.objects.create(name="card", label="Card", type="string", external_id=True)
    enroll("ext-1", first_name="Ext", card="C-777")
    response = admin_client.get("/customers/card:C-777/")
    assert response.status_code == 200
    assert response.context["customer"].customer_id == "ext-1"
    assert admin_client.get("/customers/card:nope/").status_code == 404
    assert admin_client.get("/customers/email:x/").status_code == 404  # not an external ID field


def test_quick_search_for_an_external_id_opens_the_profile(admin_client, program):
    from customers.models import CustomField

    CustomField.objects.create(name="card", label="Card", type="string", external_id=True)
    enroll("ext-2", card="C-900")
    response = admin_client.get(LIST, {"q": "card:C-900"})
    assert response.status_code == 302 and response["Location"] == "/customers/ext-2/"
    assert admin_client.get(LIST, {"q": "card:none"}).status_code == 200
