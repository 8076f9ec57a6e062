"""Labels: create, searchable alphabetical list with counts, rename, customers with a label."""

import pytest
from django.urls import reverse

from customers.models import Label
from events.engine import register_event
from loyalty.audit.models import ChangeLogEntry
from tests.factories import enroll
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access


@pytest.fixture
def labelled(program):
    for name in ("vip", "Beta", "press"):
        Label.objects.create(name=name)
    enroll("l-1", first_name="Lia", last_name="One")
    enroll("l-2", first_name="Leo", last_name="Two")
    register_event(environment="live", customer="l-1", action="profile", data={"labels": ["vip", "press"]})
    register_event(environment="live", customer="l-2", action="profile", data={"labels": ["vip"]})


def test_access(client, cast, labelled):
    assert_page_access(client, cast, reverse("customers:label_list"), allowed=STAFF_ROLES)
    assert_page_access(
        client, cast, reverse("customers:label_add"), allowed=["administrator", "program_manager"]
    )
    vip = Label.objects.get(name="vip")
    assert_page_access(
        client,
        cast,
        reverse("customers:label_edit", args=[vip.pk]),
        allowed=["administrator", "program_manager"],
    )
    assert_page_access(client, cast, reverse("customers:label_customers", args=[vip.pk]), allowed=STAFF_ROLES)


def test_list_is_alphabetical_with_counts_and_searchable(admin_client, labelled):
    response = admin_client.get(reverse("customers:label_list"))
    rows = [(label.name, label.customer_count) for label in response.context["table"].data.data]
    assert rows == [("Beta", 0), ("press", 1), ("vip", 2)]
    response = admin_client.get(reverse("customers:label_list"), {"q": "VI"})
    assert [label.name for label in response.context["table"].data.data] == ["vip"]


def test_create_and_rename_applies_to_every_customer(admin_client, labelled):
    response = admin_client.post(reverse("customers:label_add"), {"name": "newsletter", "active": "on"})
    assert response.status_code == 302 and Label.objects.filter(name="newsletter").exists()
    vip = Label.objects.get(name="vip")
    admin_client.post(reverse("customers:label_edit", args=[vip.pk]), {"name": "gold-vip", "active": "on"})
    from customers.models import Customer

    assert sorted(Customer.objects.filter(labels__name="gold-vip").values_list("customer_id", flat=True)) == [
        "l-1",
        "l-2",
    ]
    entry = ChangeLogEntry.objects.get(action="label_update")
    assert entry.before["name"] == "vip" and entry.after["name"] == "gold-vip"
    duplicate = admin_client.post(reverse("customers:label_add"), {"name": "press"})
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()


def test_customers_with_a_label(admin_client, labelled):
    press = Label.objects.get(name="press")
    response = admin_client.get(reverse("customers:label_customers", args=[press.pk]))
    html = response.content.decode()
    assert [c.customer_id for c in response.context["table"].data.data] == ["l-1"]
    assert "Lia" in html and 'href="/customers/l-1/"' in html
