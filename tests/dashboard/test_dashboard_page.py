"""The dashboard page: figures from the rollups only, the range form, CSV downloads, environments."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.rollups import rebuild_rollups
from tests import factories
from tests.factories import register

URL = reverse("home")
SOURCE_TABLES = ('"events_event"', '"loyalty_ledgerentry"', '"loyalty_pointbalance"', '"customers_customer"')


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def figures(program):
    factories.EventDefinitionFactory(action="app_download", label="App download")
    with time_machine.travel(utc(2025, 6, 10, 12), tick=False):
        for n in range(3):
            register("opt_in", f"D-{n}")
            register("point_add", f"D-{n}", {"points": 100 * (n + 1)})
        register("checkout", "D-0", {"transaction_id": "T-1", "total": 40})
        register("app_download", "D-1", {})
        register("opt_in", "S-0", environment="sandbox")
        rebuild_rollups()


def page(client, **params):
    with time_machine.travel(utc(2025, 6, 12, 12), tick=False):
        return client.get(URL, params)


def test_the_dashboard_shows_the_figures_of_the_range(admin_client, figures):
    response = page(admin_client)
    assert response.status_code == 200
    kpis = {k.label: k.value for k in response.context["kpis"]}
    assert kpis["Members"] == 3 and kpis["Enrolled"] == 3 and kpis["Active members"] == 2
    assert kpis["Points issued"] == 600 and kpis["Points liability"] == 600
    assert kpis["Purchases"] == 1 and str(kpis["Net revenue from members"]) == "40.00"
    revenue = next(k for k in response.context["kpis"] if k.label == "Net revenue from members")
    assert "less refunds 0.00" in revenue.hint  # the card says refunds are subtracted
    charts = {c.id: c for c in response.context["charts"]}
    assert {"members", "liability", "tiers", "rewards", "purchases", "custom-events"} <= set(charts)
    assert charts["custom-events"].labels == ["App download"] and charts["custom-events"].datasets[0][
        "data"
    ] == [1]
    html = response.content.decode()
    assert (
        'data-testid="chart-members"' in html
        and "chart.umd.min.js" in html
        and 'id="chart-data-members"' in html
    )


def test_the_page_reads_only_the_rollups(admin_client, figures):
    with CaptureQueriesContext(connection) as queries:
        page(admin_client, start="2024-06-13", end="2025-06-12")
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "dashboard_dailyfigure" in sql
    assert not [table for table in SOURCE_TABLES if table in sql]


def test_a_range_before_the_activity_shows_zeros_but_the_members_so_far(admin_client, figures):
    response = page(admin_client, start="2025-06-11", end="2025-06-12")
    kpis = {k.label: k.value for k in response.context["kpis"]}
    assert kpis["Enrolled"] == 0 and kpis["Members"] == 3 and kpis["Points liability"] == 600


def test_each_environment_has_its_own_figures(admin_client, figures):
    admin_client.post(reverse("switch_environment"), {"environment": "sandbox"})
    kpis = {k.label: k.value for k in page(admin_client).context["kpis"]}
    assert kpis["Members"] == 1 and kpis["Purchases"] == 0


def test_every_chart_downloads_as_csv_with_the_numbers_of_its_table(admin_client, figures):
    for chart in page(admin_client).context["charts"]:
        response = page(admin_client, start="2025-05-14", end="2025-06-12", csv=chart.id)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == chart.header()
        assert rows[1:] == [[str(cell) for cell in row] for row in chart.rows()]
    members = page(admin_client, start="2025-06-10", end="2025-06-10", csv="members")
    assert list(csv.reader(io.StringIO(members.content.decode())))[1] == ["2025-06-10", "3", "0", "2"]


def test_an_unknown_chart_is_a_404(admin_client, figures):
    assert page(admin_client, csv="nope").status_code == 404


@pytest.mark.parametrize(
    "start,end,message",
    [
        ("2025-06-12", "2025-06-01", "must not be after"),
        ("2019-01-01", "2025-06-01", "at most"),
        ("yesterday", "2025-06-01", "valid date"),
    ],
)
def test_a_bad_range_shows_its_error_and_the_default_range(admin_client, figures, start, end, message):
    response = page(admin_client, start=start, end=end)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["start"] == dt.date(2025, 5, 14) and response.context["end"] == dt.date(
        2025, 6, 12
    )


def test_a_long_range_is_shown_per_week_or_month(admin_client, figures):
    assert page(admin_client, start="2025-01-01", end="2025-06-12").context["bucket"] == "week"
    response = page(admin_client, start="2023-07-01", end="2025-06-12")
    assert response.context["bucket"] == "month"
    assert response.context["charts"][0].labels[-1] == "2025-06-01"


def test_the_dashboard_with_no_rollups_yet_renders_empty(admin_client, program):
    response = page(admin_client)
    assert response.status_code == 200 and "not updated yet" in response.content.decode()


def test_with_the_dashboard_module_off_home_opens_customers_and_the_figures_are_not_served(
    admin_client, figures
):
    from loyalty.models import Program

    def menu() -> list[str]:
        response = admin_client.get(reverse("customers:customer_list"))
        return [item["label"] for item in response.context["navigation"]]

    assert page(admin_client).status_code == 200
    assert "Dashboard" in menu()
    row = Program.objects.get()
    row.dashboard = False
    row.save()
    response = page(admin_client)
    assert response.status_code == 302 and response["Location"] == reverse("customers:customer_list")
    assert page(admin_client, start="2025-06-01", end="2025-06-12").status_code == 404
    assert page(admin_client, csv="members").status_code == 404
    assert "Dashboard" not in menu() and "Customers" in menu()  # the menu hides it
    row.dashboard = True
    row.save()
    assert page(admin_client, csv="members").status_code == 200
