"""opt_out anonymizes: no original value stays anywhere in the database, and the ID is free."""

import pytest

from customers.choices import CustomerStatus as S
from customers.models import Customer, CustomField, ExternalId
from events.models import Event
from tests.events.helpers import find_everywhere
from tests.factories import console, enroll, live, register

pytestmark = pytest.mark.django_db

ORIGINAL = {
    "customer_id": "Zelda-Quistgaard-7781",
    "email": "zelda.quistgaard@example.org",
    "first_name": "Zelda",
    "last_name": "Quistgaard",
    "nickname": "Zquist",
    "phone": "+36-30-777-1234",
    "address": "Kossuth Lajos utca 99",
    "barcode": "ZQ-BARCODE-991",
    "pet_name": "Mittens-the-Great",
}


@pytest.fixture
def zelda(program):
    CustomField.objects.create(name="barcode", label="Barcode", external_id=True)
    CustomField.objects.create(name="pet_name", label="Pet")
    cid = ORIGINAL["customer_id"]
    enroll("Bob-1")
    register(
        "opt_in",
        cid,
        {
            key: ORIGINAL[key]
            for key in (
                "email",
                "first_name",
                "last_name",
                "nickname",
                "phone",
                "address",
                "barcode",
                "pet_name",
            )
        }
        | {"referrer": "Bob-1", "labels": ["gold"]},
        ip_address="192.0.2.77",
        user_agent="ZeldaPhone/1.0",
        reason=f"Signed up in store by {ORIGINAL['first_name']} {ORIGINAL['last_name']}",
    )
    register("profile", f"barcode:{ORIGINAL['barcode']}", {"city": "Szeged"}, user_agent="Mozilla/5.0 Zelda")
    register("suspend", cid, {"reason": f"{ORIGINAL['email']} looked odd"})
    register("unsuspend", cid)
    # Someone Zelda referred: their opt_in event names her ID.
    enroll("Carl-1", referrer=cid)
    return live(cid)


def test_the_fixture_stores_every_original_value_somewhere(zelda):
    for value in ORIGINAL.values():
        assert find_everywhere(value), value


def test_opt_out_leaves_no_original_value_anywhere(zelda):
    register("opt_out", ORIGINAL["customer_id"], {"reason": f"{ORIGINAL['first_name']} asked to leave"})
    for value in ORIGINAL.values():
        assert find_everywhere(value) == [], value
    assert not Event.objects.filter(ip_address="192.0.2.77").exists()


def test_opt_out_marks_the_profile_and_keeps_its_history(zelda):
    result = register("opt_out", ORIGINAL["customer_id"])
    row = Customer.objects.get(pk=zelda.pk)
    assert row.status == S.OPTED_OUT and row.anonymized_at is not None
    assert row.customer_id.startswith("anon-") and len(row.customer_id) == 37
    assert (row.email, row.first_name, row.custom, row.referrer) == ("", "", {}, None)
    assert not row.labels.exists() and not ExternalId.objects.filter(customer=row).exists()
    assert list(Event.objects.filter(customer=row).values_list("action", flat=True).order_by("id")) == [
        "opt_in",
        "profile",
        "suspend",
        "unsuspend",
        "opt_out",
    ]
    assert all(
        data.get("_anonymized") for data in Event.objects.filter(customer=row).values_list("data", flat=True)
    )
    assert result.status_after == S.OPTED_OUT
    assert result.event.data == {"_anonymized": True}  # the response does not echo the removed values
    # The customer Zelda referred still counts as referred, by the anonymized profile.
    assert live("Carl-1").referrer_id == row.pk


def test_the_id_is_free_and_re_enrollment_makes_a_new_profile(zelda):
    register("opt_out", ORIGINAL["customer_id"])
    result = register("opt_in", ORIGINAL["customer_id"], {"first_name": "Zelda"})
    assert result.customer_created
    again = live(ORIGINAL["customer_id"])
    assert again.pk != zelda.pk and again.status == S.ACTIVE
    assert Event.objects.filter(customer=again).count() == 1


def test_opted_out_profiles_receive_no_events(zelda):
    register("opt_out", ORIGINAL["customer_id"])
    result = register("login", ORIGINAL["customer_id"])  # anonymous registration: a new inactive profile
    assert result.customer_created and result.customer.pk != zelda.pk
    assert result.customer.status == S.INACTIVE


def test_banned_customers_may_opt_out(zelda):
    console("ban", ORIGINAL["customer_id"])
    register("opt_out", ORIGINAL["customer_id"])
    assert Customer.objects.get(pk=zelda.pk).status == S.OPTED_OUT


def test_a_dry_run_opt_out_anonymizes_nothing(zelda):
    register("opt_out", ORIGINAL["customer_id"], dry_run=True)
    assert live(ORIGINAL["customer_id"]).email == ORIGINAL["email"]
    assert find_everywhere(ORIGINAL["pet_name"])


def test_anonymous_ids_are_keyed_hashes(zelda):
    import hashlib

    from customers.privacy import anonymous_id

    plain = hashlib.sha256(ORIGINAL["customer_id"].encode()).hexdigest()[:32]
    assert anonymous_id(zelda) != f"anon-{plain}"


def test_an_opted_out_profile_object_receives_no_events(zelda):
    from loyalty.errors import CustomerNotFound

    register("opt_out", ORIGINAL["customer_id"])
    with pytest.raises(CustomerNotFound):
        register("login", zelda)


def test_points_history_keeps_its_figures_after_opt_out(zelda):
    register("point_add", ORIGINAL["customer_id"], {"points": 40, "reason": f"gift for {ORIGINAL['email']}"})
    register("opt_out", ORIGINAL["customer_id"])
    add = Event.objects.get(customer=zelda, action="point_add")
    assert add.points == 40 and add.data == {"points": 40, "_anonymized": True}
    assert add.reason == "gift for [anonymized]"
    assert Customer.objects.get(pk=zelda.pk).score == 40


def test_console_changes_leave_nothing_behind_either(zelda, admin_user):
    from loyalty.audit.changes import register_change

    register_change(
        user=admin_user,
        customer=zelda,
        action="profile",
        data={"nickname": "Zq"},
        reason=f"{ORIGINAL['first_name']} called support",
        before={"nickname": ORIGINAL["nickname"]},
        after={"nickname": "Zq"},
    )
    register("opt_out", ORIGINAL["customer_id"])
    for value in (ORIGINAL["nickname"], ORIGINAL["first_name"], ORIGINAL["customer_id"]):
        assert find_everywhere(value) == [], value
