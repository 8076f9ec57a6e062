"""register_event: validation and refusals (nothing stored), customer resolution, dry runs."""

import pytest

from customers.choices import CustomerStatus
from customers.models import Customer, CustomField
from events.models import Event, EventAttribute, EventDefinition
from loyalty.errors import (
    ConsoleOnlyAction,
    CustomerNotFound,
    InternalAction,
    InvalidCustomerId,
    MissingParameter,
    UnknownAction,
    ValidationError,
)
from tests.factories import console, counts, enroll, live, refused, register

pytestmark = pytest.mark.django_db


def test_opt_in_creates_an_active_customer(program):
    result = register("opt_in", "Anna-1", {"first_name": "Anna", "email": "anna@example.com"})
    anna = live("Anna-1")
    assert result.customer_created
    assert anna.status == CustomerStatus.ACTIVE
    assert anna.first_name == "Anna" and anna.email == "anna@example.com"
    assert result.status_before == CustomerStatus.INACTIVE and result.status_after == CustomerStatus.ACTIVE
    event = Event.objects.get(customer=anna)
    assert (event.action, event.label, event.source) == ("opt_in", "Opt-in", "api")


def test_an_unknown_action_is_refused_and_nothing_is_stored(program):
    error = refused(UnknownAction, "action", lambda: register("fly_to_the_moon", "Anna-1"))
    assert "fly_to_the_moon" in error.message


@pytest.mark.parametrize("action", ["", None, 42])
def test_a_missing_action_is_refused(program, action):
    refused(MissingParameter, "action", lambda: register(action, "Anna-1"))


def test_a_missing_required_attribute_is_refused_naming_it(program):
    enroll("Anna-1")
    error = refused(MissingParameter, "data.source", lambda: register("merge", "Anna-1", {}))
    assert "source" in error.message


def test_a_wrongly_typed_attribute_is_refused_naming_it(program):
    enroll("Anna-1")
    error = refused(
        ValidationError, "data.points", lambda: register("point_add", "Anna-1", {"points": "many"})
    )
    assert "points" in error.message
    refused(ValidationError, "data.points", lambda: register("point_add", "Anna-1", {"points": 1.5}))
    refused(ValidationError, "data.birth_date", lambda: register("profile", "Anna-1", {"birth_date": "soon"}))


def test_data_must_be_an_object(program):
    refused(ValidationError, "data", lambda: register("opt_in", "Anna-1", ["not", "a", "dict"]))


def test_nul_characters_are_refused(program):
    refused(ValidationError, "data.first_name", lambda: register("opt_in", "Anna-1", {"first_name": "A\x00"}))


def test_an_internal_action_cannot_be_registered_from_outside(program):
    enroll("Anna-1")
    refused(InternalAction, "action", lambda: register("point_expire", "Anna-1", {"points": 5}))
    refused(InternalAction, "action", lambda: console("point_activate", "Anna-1", {"points": 5}))


def test_console_only_actions_are_refused_from_the_api(program):
    enroll("Anna-1")
    refused(ConsoleOnlyAction, "action", lambda: register("ban", "Anna-1"))
    refused(ConsoleOnlyAction, "action", lambda: register("ban", "Anna-1", source="automation"))
    console("ban", "Anna-1", reason="fraud")
    assert live("Anna-1").status == CustomerStatus.BANNED


def test_an_unknown_environment_is_refused(program):
    refused(ValidationError, "environment", lambda: register("opt_in", "Anna-1", environment="moon"))


@pytest.mark.parametrize("customer_id", ["anna smith", "anna@example.com", "ä-1", "x" * 129])
def test_customer_ids_are_latin_letters_digits_and_dashes(program, customer_id):
    refused(InvalidCustomerId, "customer", lambda: register("opt_in", customer_id))


@pytest.mark.parametrize("customer_id", ["", None])
def test_a_missing_customer_is_refused(program, customer_id):
    refused(MissingParameter, "customer", lambda: register("opt_in", customer_id))


def test_customer_ids_are_case_sensitive_and_per_environment(program):
    enroll("Anna-1")
    enroll("anna-1")
    register("opt_in", "Anna-1", environment="sandbox")
    assert Customer.objects.filter(customer_id__iexact="anna-1").count() == 3


def test_any_event_creates_an_inactive_customer_with_anonymous_registration(program):
    result = register("login", "Ghost-1")
    ghost = live("Ghost-1")
    assert result.customer_created and ghost.status == CustomerStatus.INACTIVE
    assert ghost.last_login_at is not None


def test_without_anonymous_registration_only_opt_in_creates_customers(program):
    program.anonymous_registration = False
    program.save()
    refused(CustomerNotFound, "customer", lambda: register("login", "Ghost-1"))
    register("opt_in", "Ghost-1")
    assert live("Ghost-1").status == CustomerStatus.ACTIVE


def test_a_customer_instance_is_accepted(program):
    anna = enroll("Anna-1")
    register("login", anna)
    assert live("Anna-1").last_login_at is not None


def test_dry_run_computes_the_result_and_stores_nothing(program):
    before = counts()
    result = register("opt_in", "Anna-1", {"first_name": "Anna", "labels": ["vip"]}, dry_run=True)
    assert result.dry_run and result.customer_created
    assert result.status_after == CustomerStatus.ACTIVE
    assert result.event.action == "opt_in"
    assert counts() == before
    assert not Customer.objects.filter(customer_id="Anna-1").exists()


def test_dry_run_on_an_existing_customer_changes_nothing(program):
    enroll("Anna-1", first_name="Anna")
    before = counts()
    result = register("profile", "Anna-1", {"first_name": "Hanna"}, dry_run=True)
    assert result.customer.first_name == "Hanna"
    assert live("Anna-1").first_name == "Anna"
    assert counts() == before


def test_dry_run_reports_refusals_like_a_real_run(program):
    enroll("Anna-1")
    with pytest.raises(ValidationError):
        register("profile", "Anna-1", {"email": "not-an-email"}, dry_run=True)


def test_secret_attributes_reach_no_event(program):
    register("opt_in", "Anna-1", {"first_name": "Anna", "password": "s3cret!", "confirm_password": "s3cret!"})
    data = Event.objects.get(action="opt_in").data
    assert data == {"first_name": "Anna"}


def test_reason_and_request_metadata_are_stored(program):
    register("opt_in", "Anna-1", reason="shop signup", ip_address="10.0.0.1", user_agent="curl/8")
    event = Event.objects.get(action="opt_in")
    assert (event.reason, event.ip_address, event.user_agent) == ("shop signup", "10.0.0.1", "curl/8")


def test_a_bad_effective_timestamp_is_refused(program):
    refused(
        ValidationError, "effective_timestamp", lambda: register("opt_in", effective_timestamp="yesterday")
    )


def test_effective_timestamp_keeps_the_original_time(program):
    register("opt_in", "Anna-1", effective_timestamp="2020-01-02T03:04:05+00:00")
    event = Event.objects.get(action="opt_in")
    assert event.effective_at.year == 2020 and event.timestamp.year > 2020


def test_workflow_scheduling_is_harmless_before_workflows_exist(program):
    program.workflows = True
    program.save()
    enroll("Anna-1")
    assert live("Anna-1").status == CustomerStatus.ACTIVE


def test_a_built_in_event_on_a_known_customer_runs_few_queries(program, django_assert_max_num_queries):
    enroll("Anna-1")
    register("login", "Anna-1")  # warm the caches
    # savepoint, customer lock, balance rows, event insert, customer update, release
    with django_assert_max_num_queries(6):
        register("login", "Anna-1")


def test_point_events_explain_balances_and_dry_runs_store_nothing(program):
    from loyalty.models import LedgerEntry, PointLot

    enroll("Anna-1")
    register("point_add", "Anna-1", {"points": 10})
    stored = (Event.objects.count(), PointLot.objects.count(), LedgerEntry.objects.count())
    result = register("point_add", "Anna-1", {"points": 5}, dry_run=True)
    assert result.balances_before["points"]["spendable"] == 10
    assert result.balances_after["points"]["spendable"] == 15
    assert result.explain()["balances"]["after"]["points"]["earned"] == 15
    assert (Event.objects.count(), PointLot.objects.count(), LedgerEntry.objects.count()) == stored
    assert live("Anna-1").spendable == 10


# External IDs ---------------------------------------------------------------------------------


@pytest.fixture
def barcode(db):
    return CustomField.objects.create(name="barcode", label="Barcode", external_id=True)


def test_field_value_names_a_customer_by_external_id(program, barcode):
    enroll("Anna-1", barcode="1234-5678")
    register("profile", "barcode:1234-5678", {"first_name": "Anna"})
    register("profile", "1234-5678", {"last_name": "Smith"}, external_id="barcode")
    anna = live("Anna-1")
    assert (anna.first_name, anna.last_name) == ("Anna", "Smith")
    assert Event.objects.filter(customer=anna).count() == 3


def test_an_unknown_external_id_is_not_found_and_never_creates(program, barcode):
    refused(CustomerNotFound, "customer", lambda: register("profile", "barcode:0000"))


def test_a_field_that_is_no_external_id_is_refused(program, barcode):
    CustomField.objects.create(name="color", label="Color")
    refused(ValidationError, "external_id", lambda: register("profile", "color:red"))


def test_changing_an_external_id_moves_the_index(program, barcode):
    enroll("Anna-1", barcode="1111")
    register("profile", "barcode:1111", {"barcode": "2222"})
    refused(CustomerNotFound, "customer", lambda: register("profile", "barcode:1111"))
    register("profile", "barcode:2222", {"first_name": "Anna"})
    assert live("Anna-1").first_name == "Anna"


# Custom events and built-in extensions ---------------------------------------------------------


@pytest.fixture
def wishlist(db):
    definition = EventDefinition.objects.create(action="wishlist_add", label="Wishlist add")
    EventAttribute.objects.create(definition=definition, name="product", type="string", required=True)
    EventAttribute.objects.create(definition=definition, name="quantity", type="integer")
    return definition


def test_a_custom_event_is_stored_with_its_label(program, wishlist):
    enroll("Anna-1")
    register("wishlist_add", "Anna-1", {"product": "SKU-1", "quantity": "2"})
    event = Event.objects.get(action="wishlist_add")
    assert event.label == "Wishlist add"
    assert event.data == {"product": "SKU-1", "quantity": 2}


def test_a_custom_event_checks_required_and_typed_attributes(program, wishlist):
    enroll("Anna-1")
    refused(MissingParameter, "data.product", lambda: register("wishlist_add", "Anna-1", {"quantity": 2}))
    refused(
        ValidationError,
        "data.quantity",
        lambda: register("wishlist_add", "Anna-1", {"product": "SKU-1", "quantity": "lots"}),
    )


def test_an_inactive_definition_is_an_unknown_action(program, wishlist):
    enroll("Anna-1")
    register("wishlist_add", "Anna-1", {"product": "SKU-1"})
    wishlist.active = False
    wishlist.save()
    refused(UnknownAction, "action", lambda: register("wishlist_add", "Anna-1", {"product": "SKU-1"}))


def test_a_definition_change_applies_to_the_next_event(program, wishlist):
    enroll("Anna-1")
    register("wishlist_add", "Anna-1", {"product": "SKU-1"})  # cached now
    EventAttribute.objects.create(definition=wishlist, name="store", required=True)
    refused(MissingParameter, "data.store", lambda: register("wishlist_add", "Anna-1", {"product": "SKU-1"}))


def test_a_built_in_action_can_get_extra_attributes(program):
    definition = EventDefinition.objects.create(action="profile", label="Profile", builtin_extension=True)
    EventAttribute.objects.create(definition=definition, name="channel", required=True)
    enroll("Anna-1")
    refused(MissingParameter, "data.channel", lambda: register("profile", "Anna-1", {"first_name": "A"}))
    register("profile", "Anna-1", {"first_name": "Anna", "channel": "app"})
    assert live("Anna-1").first_name == "Anna"
    assert Event.objects.filter(action="profile").get().data["channel"] == "app"


def test_an_extension_is_not_itself_an_action(program):
    EventDefinition.objects.create(action="profile", label="Profile", builtin_extension=True)
    refused(UnknownAction, "action", lambda: register("nonexistent_ext", "Anna-1"))


def test_numeric_customer_ids_are_accepted(program):
    register("opt_in", 12345)
    assert live("12345").status == CustomerStatus.ACTIVE


def test_status_actions_never_create_customers(program):
    for action in ("opt_out", "verify", "suspend", "unsuspend"):
        refused(CustomerNotFound, "customer", lambda action=action: register(action, "Ghost-1"))
    refused(CustomerNotFound, "customer", lambda: console("ban", "Ghost-1"))
    refused(CustomerNotFound, "customer", lambda: register("merge", "Ghost-1", {"source": "Other-1"}))


def test_an_unknown_source_is_refused(program):
    refused(ValidationError, "source", lambda: register("opt_in", source="carrier-pigeon-service"))


def test_an_unparsable_sender_address_is_not_stored(program):
    register("opt_in", "Anna-1", ip_address="not-an-ip")
    assert Event.objects.get(action="opt_in").ip_address is None


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused_anywhere_in_data(program, number):
    refused(ValidationError, "data.extra.0", lambda: register("login", "Anna-1", {"extra": [number]}))
