"""Issue 16 §8: "Create customer" on the Customers page: an opt_in through the engine by the
console user, with the custom fields (those required on opt-in required), logged as a change."""

import pytest
from django.urls import reverse

from customers.models import Customer, CustomField
from events.models import Event
from loyalty.audit.models import ChangeLogEntry

from .conftest import enroll

pytestmark = pytest.mark.django_db
ADD = reverse("customers:customer_add")


def test_the_customers_page_offers_create_customer(admin_client, program):
    html = admin_client.get(reverse("customers:customer_list")).content.decode()
    assert f'href="{ADD}"' in html and "Create customer" in html


def test_creating_a_customer_registers_an_opt_in_with_custom_fields(admin_client, admin_user, program):
    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number", min_value=15, max_value=55)
    CustomField.objects.create(name="club", label="Club", type="string", required_on_opt_in=True)
    form = admin_client.get(ADD).context["form"]
    assert form.fields["custom_club"].required and not form.fields["custom_shoe_size"].required
    response = admin_client.post(
        ADD,
        {
            "customer_id": "new-1",
            "first_name": "Nora",
            "email": "nora@example.com",
            "custom_shoe_size": "39",
            "custom_club": "Red",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "customers:customer_overview", args=["new-1"]
    )
    customer = Customer.objects.get(customer_id="new-1")
    assert (customer.first_name, customer.email, customer.custom) == (
        "Nora",
        "nora@example.com",
        {"shoe_size": 39, "club": "Red"},
    )
    event = Event.objects.get(customer=customer, action="opt_in")
    assert event.source == "platform" and event.admin_user == admin_user
    assert ChangeLogEntry.objects.filter(customer=customer, action="opt_in").exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"customer_id": "has space"}, "customer_id"),
        ({"customer_id": "dup-1"}, "customer_id"),
        ({"customer_id": "ok-1", "email": "not-an-email"}, "email"),
        ({"customer_id": "ok-1", "custom_shoe_size": "99"}, "custom_shoe_size"),
    ],
)
def test_bad_input_is_refused_on_the_field(admin_client, program, data, field):
    CustomField.objects.create(name="shoe_size", label="Shoe size", type="number", min_value=15, max_value=55)
    enroll("dup-1")
    response = admin_client.post(ADD, data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Customer.objects.filter(customer_id="ok-1").exists()


def test_only_profile_editors_may_create(client, cast, program):
    client.force_login(cast["analyst"])
    assert client.get(ADD).status_code == 403
