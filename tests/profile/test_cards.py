"""Loyalty cards (cards.cards) through the engine: register / unregister / transfer, the card code
as customer reference, batches and imports, refusals that change nothing."""

import pytest

from cards import cards
from cards.models import CardRegistration, CardSettings, LoyaltyCard
from customers.lookup import find_customer
from events.engine import register_event
from events.models import Event
from loyalty.errors import (
    BusinessRuleError,
    Conflict,
    CustomerNotFound,
    NotFound,
    StatusForbids,
    ValidationError,
)
from loyalty.models import Program

pytestmark = pytest.mark.django_db


def reg(action, customer="alice", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


@pytest.fixture
def module(program):
    program = Program.objects.get(pk=program.pk)
    program.loyalty_cards = True
    program.save()
    reg("opt_in")
    reg("opt_in", customer="bob")
    cards.create_card("live", "CARD-1")
    return program


def test_register_and_card_as_customer_reference(module):
    reg("card_register", card="CARD-1")
    assert find_customer("live", "card:CARD-1").customer_id == "alice"
    # Wherever a customer reference is accepted: an event for card:CARD-1 is alice's.
    result = reg("point_add", customer="card:CARD-1", points=5)
    assert result.customer.customer_id == "alice"
    assert find_customer("sandbox", "card:CARD-1") is None


def test_unknown_card_reference_is_customer_not_found(module):
    with pytest.raises(CustomerNotFound):
        reg("point_add", customer="card:NOPE", points=5)


def test_users_per_card_limit(module):
    reg("card_register", card="CARD-1")
    with pytest.raises(BusinessRuleError) as error:
        reg("card_register", customer="bob", card="CARD-1")
    assert "limit is 1" in error.value.message
    settings = CardSettings.current()
    settings.users_per_card_limit = 2
    settings.save()
    reg("card_register", customer="bob", card="CARD-1")
    assert CardRegistration.objects.filter(card__code="CARD-1").count() == 2
    with pytest.raises(ValidationError) as error:  # a shared card no longer names one customer
        find_customer("live", "card:CARD-1")
    assert "several customers" in error.value.message


def test_register_twice_is_a_conflict(module):
    reg("card_register", card="CARD-1")
    with pytest.raises(Conflict):
        reg("card_register", card="CARD-1")
    assert Event.objects.filter(action="card_register").count() == 1


def test_unregister(module):
    reg("card_register", card="CARD-1")
    reg("card_unregister", card="CARD-1", reason="lost")
    assert not CardRegistration.objects.exists()
    assert find_customer("live", "card:CARD-1") is None
    with pytest.raises(NotFound):
        reg("card_unregister", card="CARD-1")


def test_transfer(module):
    reg("card_register", card="CARD-1")
    reg("card_transfer", card="CARD-1", new_card="CARD-2", reason="stolen")
    old, new = LoyaltyCard.objects.get(code="CARD-1"), LoyaltyCard.objects.get(code="CARD-2")
    assert old.status == "blocked" and old.block_reason == "stolen" and old.transferred_to == new
    assert new.status == "active"
    assert find_customer("live", "card:CARD-2").customer_id == "alice"
    assert find_customer("live", "card:CARD-1") is None
    with pytest.raises(StatusForbids):  # blocked for good
        reg("card_register", customer="bob", card="CARD-1")
    with pytest.raises(StatusForbids):
        reg("card_transfer", card="CARD-1", new_card="CARD-3")


def test_transfer_to_an_existing_card_is_refused(module):
    cards.create_card("live", "CARD-2")
    reg("card_register", card="CARD-1")
    with pytest.raises(Conflict) as error:
        reg("card_transfer", card="CARD-1", new_card="CARD-2")
    assert error.value.field == "data.new_card"
    assert LoyaltyCard.objects.get(code="CARD-1").status == "active"
    assert CardRegistration.objects.get().card.code == "CARD-1"


def test_transfer_needs_the_customers_card(module):
    with pytest.raises(NotFound):
        reg("card_transfer", card="CARD-1", new_card="CARD-9")
    assert not LoyaltyCard.objects.filter(code="CARD-9").exists()


@pytest.mark.parametrize("code", ["with space", "semi;colon", "ä", "", "x" * 109, "a/b"])
def test_bad_card_codes(module, code):
    with pytest.raises(ValidationError):
        reg("card_register", card=code)
    with pytest.raises(ValidationError):
        cards.create_card("live", code)
    assert LoyaltyCard.objects.count() == 1


@pytest.mark.parametrize("code", ["A.b_c%d+e@f-9", "1234567890"])
def test_good_card_codes(module, code):
    assert cards.create_card("live", code).code == code


def test_module_off_refuses_and_keeps_data(module):
    reg("card_register", card="CARD-1")
    module.loyalty_cards = False
    module.save()
    with pytest.raises(ValidationError):
        reg("card_unregister", card="CARD-1")
    with pytest.raises(ValidationError):
        find_customer("live", "card:CARD-1")
    assert CardRegistration.objects.count() == 1


def test_batch(module):
    batch_id, codes = cards.generate_batch("live", 250)
    assert len(codes) == len(set(codes)) == 250
    assert LoyaltyCard.objects.filter(batch_id=batch_id).count() == 250


@pytest.mark.parametrize("count", [0, -1, 20_001, "5", True])
def test_batch_limits(module, count):
    with pytest.raises(ValidationError):
        cards.generate_batch("live", count)
    assert LoyaltyCard.objects.count() == 1


def test_import_all_or_nothing(module):
    assert cards.import_cards("live", "identifier,status\nC-10,active\nC-11,inactive\n") == 2
    with pytest.raises(ValidationError) as error:
        cards.import_cards("live", "identifier\nC-20\nbad code\n")
    assert "Line 3" in error.value.message
    with pytest.raises(Conflict):
        cards.import_cards("live", "identifier\nC-21\nC-10\n")
    assert not LoyaltyCard.objects.filter(code__in=["C-20", "C-21"]).exists()


def test_an_external_id_field_named_card_keeps_its_meaning(module):
    from customers.models import CustomField

    CustomField.objects.create(name="card", label="Card", type="string", external_id=True)
    reg("profile", card="EXT-9")
    reg("card_register", card="CARD-1")
    assert find_customer("live", "card:EXT-9").customer_id == "alice"
    assert find_customer("live", "card:CARD-1") is None  # not an external ID value
