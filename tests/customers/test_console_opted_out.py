"""Issue 16 §4: an opted-out customer does not vanish. Its anonymized profile opens by the
anonymized ID (read-only, with its status and anonymous history); the old ID stays a 404; the
list's status filter Opted-out finds it."""

import pytest
from django.urls import reverse

from customers.models import Customer
from events.engine import register_event

from .conftest import enroll, profile

pytestmark = pytest.mark.django_db
LIST = reverse("customers:customer_list")


@pytest.fixture
def gone(program):
    enroll("zed-1", first_name="Zed", last_name="Zimmer", email="zed@example.com", points=300)
    enroll("amy-2", first_name="Amy")
    register_event(environment="live", customer="zed-1", action="opt_out", data={"reason": "asked"})
    return Customer.objects.get(anonymized_at__isnull=False)


def test_the_anonymized_profile_opens_by_its_anonymized_id(admin_client, gone):
    assert gone.customer_id != "zed-1"
    assert admin_client.get(profile("zed-1")).status_code == 404  # the old ID, rightly
    response = admin_client.get(profile(gone.customer_id))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="customer-status">Opted-out<' in html
    assert "Zed" not in html and "zed@example.com" not in html
    assert response.context["main_actions"] == [] and response.context["more_actions"] == []


def test_its_anonymous_history_is_listed(admin_client, gone):
    response = admin_client.get(profile(gone.customer_id, "events"))
    actions = {event.action for event in response.context["events"]}
    assert response.status_code == 200 and {"opt_in", "point_add", "opt_out"} <= actions


def test_no_action_acts_on_an_anonymized_profile(admin_client, gone):
    assert admin_client.get(profile(gone.customer_id, "manage_points")).status_code == 404
    assert admin_client.post(profile(gone.customer_id, "personal"), {"reason": "x"}).status_code == 403


@pytest.mark.parametrize(
    "params", [{"status": ["opted_out"]}, {"f": "status:eq:opted_out"}, {"f": "status:in:opted_out,banned"}]
)
def test_the_status_filter_opted_out_finds_them(admin_client, gone, params):
    response = admin_client.get(LIST, params)
    assert {c.customer_id for c in response.context["table"].data.data} == {gone.customer_id}
    assert response.context["count"] == 1


def test_the_plain_list_still_hides_them(admin_client, gone):
    response = admin_client.get(LIST)
    assert {c.customer_id for c in response.context["table"].data.data} == {"amy-2"}
