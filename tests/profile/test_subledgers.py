"""Customers' subledgers (loyalty.ledger.subledgers) through the engine."""

import pytest

from customers.models import Customer
from events.engine import register_event
from loyalty.errors import Conflict, NotFound, ValidationError
from loyalty.ledger.checks import verify_customer
from loyalty.models import PointAccount, PointBalance, PointLot, Program

pytestmark = pytest.mark.django_db


def reg(action, customer="alice", **data):
    return register_event(environment="live", customer=customer, action=action, data=data)


@pytest.fixture
def multi(db):
    program = Program.objects.get_or_create()[0]
    program.multi_accounts = True
    program.save()
    reg("opt_in")
    return program


def test_point_add_creates_the_subledger_on_the_spot(multi):
    result = reg("point_add", points=50, subledger="store-12", reason="welcome")
    sub = PointAccount.objects.get(code="store-12")
    assert sub.owner.customer_id == "alice" and sub.parent.is_default
    assert result.extra["subledger_created"] == "store-12"
    assert PointBalance.objects.get(account=sub).spendable == 50
    reg("point_add", points=5, subledger="store-12")
    assert PointAccount.objects.filter(code="store-12").count() == 1
    assert PointBalance.objects.get(account=sub).spendable == 55
    alice = Customer.objects.get(customer_id="alice")
    # The customer's top-level figures are the default account's (issue 16 §3): a subledger is
    # shown on its own (Loyalty points tab, `accounts` in the Customer API).
    assert alice.spendable == 0
    assert verify_customer(alice) == []


def test_each_customer_has_their_own_subledgers(multi):
    reg("opt_in", customer="bob")
    reg("point_add", points=1, subledger="s1")
    reg("point_add", customer="bob", points=2, subledger="s1")
    assert PointAccount.objects.filter(code="s1").count() == 2


def test_point_sub_from_a_subledger(multi):
    reg("point_add", points=30, subledger="s1")
    reg("point_add", points=30)
    reg("point_sub", points=20, subledger="s1")
    sub = PointAccount.objects.get(code="s1")
    assert PointBalance.objects.get(account=sub).spendable == 10
    assert PointBalance.objects.get(account__is_default=True).spendable == 30


def test_point_sub_from_an_unknown_subledger_is_refused(multi):
    with pytest.raises(NotFound):
        reg("point_sub", points=1, subledger="nope")


def test_create_subledger_refuses_an_existing_one(multi):
    reg("point_add", points=1, subledger="s1", create_subledger=True)
    with pytest.raises(Conflict):
        reg("point_add", points=1, subledger="s1", create_subledger=True)
    assert PointLot.objects.count() == 1


@pytest.mark.parametrize("code", ["with space", "x" * 65, "semi;colon", "points"])
def test_bad_subledger_ids_are_refused(multi, code):
    with pytest.raises(ValidationError) as error:
        reg("point_add", points=1, subledger=code)
    assert error.value.field == "data.subledger"
    assert not PointLot.objects.exists()
    assert not PointAccount.objects.filter(owner__isnull=False).exists()


def test_subledgers_need_the_multi_accounts_module(db):
    reg("opt_in")
    with pytest.raises(ValidationError) as error:
        reg("point_add", points=1, subledger="s1")
    assert "multi-accounts" in error.value.message
    assert not PointAccount.objects.filter(owner__isnull=False).exists()


def test_switching_the_module_off_keeps_subledgers(multi):
    reg("point_add", points=7, subledger="s1")
    multi.multi_accounts = False
    multi.save()
    assert PointBalance.objects.get(account__code="s1").spendable == 7
    with pytest.raises(ValidationError):
        reg("point_add", points=1, subledger="s1")


def test_subledgers_are_not_program_accounts(multi):
    from loyalty.ledger.accounts import all_accounts

    reg("point_add", points=7, subledger="s1")
    assert "s1" not in [a.code for a in all_accounts()]
    with pytest.raises(ValidationError):
        register_event(
            environment="live", customer="alice", action="point_add", data={"points": 1}, account="s1"
        )


def test_merge_moves_subledgers(multi):
    reg("opt_in", customer="bob")
    reg("point_add", customer="bob", points=9, subledger="s1")
    reg("merge", source="bob")
    sub = PointAccount.objects.get(code="s1")
    assert sub.owner.customer_id == "alice"
    assert PointBalance.objects.get(account=sub, customer__customer_id="alice").spendable == 9


def test_program_forms_do_not_offer_customers_subledgers(multi):
    """A reward or an earning rule names a program account, never a customer's subledger (the
    seed's customers each have a "store-budapest" subledger: four identical names in the list)."""
    from coupons.forms import RewardForm
    from loyalty.ledger.accounts import default_account
    from transactions.forms import EarningRuleForm

    reg("point_add", points=50, subledger="store-12")
    subledger = PointAccount.objects.get(code="store-12")
    for form in (RewardForm(), EarningRuleForm()):
        offered = list(form.fields["account"].queryset)
        assert default_account() in offered and subledger not in offered
    refused = RewardForm(data={"name": "Mug", "points": 10, "account": subledger.pk})
    assert not refused.is_valid() and "account" in refused.errors
    assert verify_customer(Customer.objects.get(customer_id="alice")) == []
