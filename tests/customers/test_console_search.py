"""Issue 16 §5: one search box finding customers by any part of name, e-mail, ID or external ID,
case-insensitive everywhere and accent-insensitive on PostgreSQL (trigram indexes); an invalid
filter condition leaves the list as it was, with the error shown."""

import pytest
from django.db import connection
from django.urls import reverse

from customers.models import CustomField
from customers.search import fold

from .conftest import enroll

LIST = reverse("customers:customer_list")
postgres_only = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="unaccent and pg_trgm are PostgreSQL's"),
]


def shown(client, **params) -> set[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return {c.customer_id for c in response.context["table"].data.data}


@pytest.fixture
def simons(program):
    CustomField.objects.create(name="card", label="Loyalty card", type="string", external_id=True)
    people = [
        ("s-1", "Simon", "Smith", "simon.smith@example.com"),
        ("s-2", "simon", "Jones", "sj@example.com"),
        ("s-3", "SIMON", "Brown", "brown@example.com"),
        ("s-4", "Simone", "White", "white@example.com"),
        ("s-5", "Anna", "Simonyi", "anna@example.com"),
        ("s-6", "Peter", "Black", "simon.fan@example.com"),
        ("s-7", "Simón", "García", "sg@example.com"),
        ("x-1", "József", "Kovács", "jk@example.com"),
        ("x-2", "Zoe", "Young", "zoe@example.com"),
    ]
    for customer_id, first, last, email in people:
        enroll(customer_id, first_name=first, last_name=last, email=email, card=f"CARD-{customer_id.upper()}")
    return people


def test_simon_finds_every_simon_case_insensitively(admin_client, simons):
    # The example: "simon" found 0 of 7 Simons. Simón needs accent folding (PostgreSQL).
    expected = {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6"}
    found = shown(admin_client, q="simon")
    assert expected <= found
    if connection.vendor == "postgresql":
        assert found == expected | {"s-7"}
    else:
        assert found == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("smith", {"s-1"}),
        ("SMITH", {"s-1"}),
        ("example.com", {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7", "x-1", "x-2"}),
        ("sj@", {"s-2"}),
        ("x-2", {"x-2"}),  # part of the customer ID
        ("card-s-5", {"s-5"}),  # part of an external ID
        ("Zoe Young", {"x-2"}),  # first and last name
        ("nobody", set()),
    ],
)
def test_any_part_of_name_email_id_or_external_id(admin_client, simons, query, expected):
    assert shown(admin_client, q=query) == expected


@pytest.mark.parametrize("query", ["jozsef", "JÓZSEF", "kovacs", "garcia"])
def test_accent_insensitive_on_postgresql(admin_client, simons, query):
    if connection.vendor != "postgresql":
        pytest.skip("accent folding is PostgreSQL's unaccent")
    assert shown(admin_client, q=query) & {"x-1", "s-7"}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
def test_the_search_can_use_the_trigram_index(simons):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM customers_customer WHERE "
            "loyalty_customer_search(first_name, last_name, email, customer_id) LIKE '%%simon%%'"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "customer_search_trgm" in plan


def test_fold_is_lower_without_accents():
    assert fold("József KOVÁCS Simón") == "jozsef kovacs simon"


def test_an_invalid_condition_leaves_the_list_as_it_was_with_the_error(admin_client, simons):
    before = shown(admin_client, f="first_name:eq:Simon")
    assert before == {"s-1"}
    response = admin_client.get(LIST, {"f": ["first_name:eq:Simon", "score:ge:lots"]})
    html = response.content.decode()
    assert (
        response.status_code == 200 and 'data-testid="filter-errors"' in html and "not a whole number" in html
    )
    assert {c.customer_id for c in response.context["table"].data.data} == before  # never widened


def pages(client, **params) -> tuple[list[str], list[str]]:
    """Every customer ID the list shows, walking its pages; and the count line of the first page."""
    seen, counts, url, query = [], [], LIST, params
    while url:
        response = client.get(url, query)
        assert response.status_code == 200
        seen += [c.customer_id for c in response.context["table"].data.data]
        counts.append(response.content.decode().split('data-testid="customer-count">')[1].split("<")[0])
        url, query = response.context["next_url"], None
    return seen, counts


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bounded search paths are PostgreSQL's")
@pytest.mark.parametrize(
    "limits, query, expected",
    [
        # A common text: most of the newest customers match, so the list walks its index.
        (
            {"SAMPLE": 3, "COMMON": 2},
            "example.com",
            {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7", "x-1", "x-2"},
        ),
        # Rare among the newest, but more matches than CAP in the trigram index.
        ({"SAMPLE": 2, "CAP": 3}, "simon", {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7"}),
        # More external IDs than CAP: they stay a subquery.
        ({"SAMPLE": 2, "CAP": 2}, "card-s", {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7"}),
    ],
)
def test_a_search_with_more_matches_than_it_collects_lists_them_all_uncounted(
    admin_client, simons, monkeypatch, limits, query, expected
):
    from customers import search

    complete, counts = pages(admin_client, q=query, per_page=2)
    assert set(complete) == expected and len(complete) == len(expected)
    assert counts[0] == f"{len(expected)} customers"  # collected in full: counted
    for name, value in limits.items():
        monkeypatch.setattr(search, name, value)
    walked, counts = pages(admin_client, q=query, per_page=2)
    assert walked == complete  # the same customers in the same order, page by page
    assert all(count.startswith("Many customers match the search") for count in counts)
    narrowed, _ = pages(admin_client, q=query, f="last_name:eq:Smith", per_page=2)
    assert set(narrowed) == expected & {"s-1"}  # other filters still apply


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bounded search paths are PostgreSQL's")
def test_a_search_among_few_customers_is_collected_from_the_newest_alone(
    simons, django_assert_max_num_queries
):
    """Fewer customers than SAMPLE: the look at the newest saw them all, so no trigram query runs."""
    from customers.models import Customer
    from customers.search import match

    with django_assert_max_num_queries(3):  # fold the text, external IDs, the newest customers
        found = match(Customer.objects.all(), "SIMON", "live")
    assert not found.overflow
    assert {c.customer_id for c in found.queryset} == {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6", "s-7"}
