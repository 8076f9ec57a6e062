"""Issue 16 §3: the top-level Spendable / Score mean the default account, everywhere: the ledger's
customer figures, the profile header, the list, and the Customer API; other accounts are shown
separately. Making another account the default recomputes the figures."""

import pytest
from django.urls import reverse

from customers.models import Customer
from events.engine import register_event
from loyalty.ledger import checks
from loyalty.models import PointAccount, Program
from loyalty.program_settings.forms import PointAccountForm
from tests.api.conftest import api, live_key  # noqa: F401  (fixtures)

from .conftest import profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def status_points(program):
    row = Program.objects.get(pk=program.pk)
    row.multi_accounts = True
    row.save()
    PointAccount.objects.create(code="status", name="Status points")
    register_event(environment="live", customer="ann", action="opt_in", data={"first_name": "Ann"})
    register_event(environment="live", customer="ann", action="point_add", data={"points": 772})
    register_event(
        environment="live", customer="ann", action="point_add", data={"points": 8000, "account": "status"}
    )
    return Customer.objects.get(customer_id="ann")


def test_the_issue_example_spendable_is_772_not_8772(admin_client, status_points):
    assert status_points.spendable == 772 and status_points.score == 772
    html = admin_client.get(profile("ann")).content.decode()
    assert 'data-testid="customer-spendable">772<' in html and "8,772" not in html
    statistics = html.split('data-testid="point-statistics"', 1)[1].split("</section>", 1)[0]
    assert "Status points" in statistics and "8,000" in statistics  # shown separately
    listed = admin_client.get(reverse("customers:customer_list")).context["table"].data.data
    assert [(c.customer_id, c.spendable, c.score) for c in listed] == [("ann", 772, 772)]
    assert checks.verify_customer(status_points) == []
    assert checks.check_invariants(chunk_size=2) == []  # the command's set-wise walk agrees


def test_the_customer_api_agrees(api, status_points):  # noqa: F811
    response = api.get("/api/customers/ann")
    body = response.json()
    assert response.status_code == 200, body
    assert body["spendable"] == 772 and body["score"] == 772
    accounts = {a["id"]: a["spendable"] for a in body["accounts"]}
    assert accounts == {"points": 772, "status": 8000}


def test_a_new_default_account_recomputes_every_customer(status_points):
    account = PointAccount.objects.get(code="status")
    data = {
        "code": "status",
        "name": "Status points",
        "is_default": "on",
        "burn_rates": "[]",
        "expiration_rule": account.expiration_rule,
        "expiration_unit": account.expiration_unit,
        "expiration_period": account.expiration_period or 1,
        "expiration_rounding": account.expiration_rounding,
    }
    form = PointAccountForm(data, instance=account)
    assert form.is_valid(), form.errors
    form.save()
    ann = Customer.objects.get(customer_id="ann")
    assert (ann.spendable, ann.score) == (8000, 8000)
