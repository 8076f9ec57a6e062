"""003's Sessions tab, Return items through the engine (refund_item), and the profile summary."""

from decimal import Decimal

import pytest
from django.urls import reverse

from events.models import Event
from loyalty.audit.models import ChangeLogEntry
from loyalty.models import Program
from tests.factories import enroll, register
from tests.loyalty.helpers import STAFF_ROLES, assert_page_access
from tests.transactions.helpers import checkout, item, rule, spendable, tx
from transactions import sessions
from transactions.models import Transaction

pytestmark = pytest.mark.django_db
TX_ROLES = ("administrator", "program_manager", "support_agent")


def tab(ref="Anna-1"):
    return reverse("transactions:customer_sessions", kwargs={"ref": ref})


def return_url(tid="T-1", ref="Anna-1"):
    return reverse("transactions:customer_return_items", kwargs={"ref": ref, "pk": tx(tid).pk})


@pytest.fixture
def anna(program):
    rule()
    enroll()
    checkout(
        "T-1",
        total=300,
        items=[item("P-1", subtotal=100, quantity=2, discount=10), item("P-2", subtotal=200, quantity=1)],
        coupon_codes=[],
    )
    return "Anna-1"


def states():
    return {t.transaction_id: sessions.state(t, t.returned_count) for t in sessions.sessions(t_customer())}


def t_customer():
    from customers.models import Customer

    return Customer.objects.get(customer_id="Anna-1")


def test_states_map_from_transaction_statuses(anna):
    checkout("T-2", total=50)
    checkout("T-3", total=50)
    register("refund", data={"transaction_id": "T-2"})
    register("checkout_reject", data={"transaction_id": "T-3"})
    assert states() == {"T-1": "closed", "T-2": "cancelled", "T-3": "cancelled"}
    register("refund_item", data={"transaction_id": "T-1", "product_id": "P-1", "quantity": 1})
    assert states()["T-1"] == "partially_returned"


def test_open_session(program):
    program = Program.objects.get(pk=program.pk)
    program.checkout_accept = True
    program.save()
    rule()
    enroll()
    checkout("T-9", total=10)
    assert states() == {"T-9": "open"}


def test_tab_per_role_and_columns(client, cast, anna):
    responses = assert_page_access(client, cast, tab(), allowed=STAFF_ROLES)
    html = responses["administrator"].content.decode()
    for column in (
        "Session",
        "State",
        "Items in session",
        "Returned items",
        "Coupon",
        "Referral code",
        "Created",
    ):
        assert column in html
    assert "Closed" in html and 'data-testid="return-items"' in html
    client.force_login(cast["analyst"])
    assert 'data-testid="return-items"' not in client.get(tab()).content.decode()


def test_return_items_through_the_engine(admin_client, anna):
    before = spendable()
    assert before == 300
    response = admin_client.post(return_url(), {"qty_0": 1, "qty_1": 1, "reason": "damaged"})
    assert response.status_code == 302, response.content.decode()[:3000]
    refunds = Event.objects.filter(action="refund_item").order_by("id")
    assert [(e.data["product_id"], e.data["quantity"], e.reason) for e in refunds] == [
        ("P-1", 1, "damaged"),
        ("P-2", 1, "damaged"),
    ]
    assert all(e.source == "platform" for e in refunds)
    assert ChangeLogEntry.objects.filter(action="refund_item").count() == 2
    assert spendable() < before  # the points of the returned items were taken back
    html = admin_client.get(tab()).content.decode()
    assert "Partially returned" in html


def test_returning_everything_cancels_the_session(admin_client, anna):
    admin_client.post(return_url(), {"qty_0": 2, "qty_1": 1, "reason": "all back"})
    assert states()["T-1"] == "cancelled"
    assert spendable() == 0
    assert 'data-testid="return-items"' not in admin_client.get(tab()).content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"qty_0": 3, "reason": "x"}, "less than or equal to 2"),  # more than bought
        ({"qty_0": -1, "reason": "x"}, "greater than or equal to 0"),
        ({"qty_0": 0, "qty_1": 0, "reason": "x"}, "at least one item"),
        ({"qty_0": 1, "reason": ""}, "required"),
    ],
)
def test_bad_returns_change_nothing(admin_client, anna, data, error):
    response = admin_client.post(return_url(), data)
    assert response.status_code == 200 and error in str(response.context["form"].errors)
    assert not Event.objects.filter(action="refund_item").exists()
    assert spendable() == 300


def test_a_refused_line_rolls_back_the_others(admin_client, anna):
    # Another agent returned P-2 meanwhile: the form still offers it, the engine refuses it,
    # and the P-1 return of the same submission is rolled back with it.
    form = admin_client.get(return_url()).context["form"]
    assert [line["product_id"] for line in form.lines] == ["P-1", "P-2"]
    register("refund_item", data={"transaction_id": "T-1", "product_id": "P-2", "quantity": 1})
    from transactions import session_views

    original = session_views.returnable_lines
    session_views.returnable_lines = lambda t: [
        {"product_id": "P-1", "name": "P-1", "quantity": 2, "open": 2},
        {"product_id": "P-2", "name": "P-2", "quantity": 1, "open": 1},
    ]
    try:
        response = admin_client.post(return_url(), {"qty_0": 1, "qty_1": 1, "reason": "x"})
    finally:
        session_views.returnable_lines = original
    assert response.status_code == 200 and "left to refund" in response.content.decode()
    assert Event.objects.filter(action="refund_item").count() == 1  # only the earlier one


def test_return_items_per_role(client, cast, anna):
    assert_page_access(client, cast, return_url(), allowed=TX_ROLES)


def test_sessions_follow_the_transactions_module(admin_client, anna, program):
    program = Program.objects.get(pk=program.pk)
    program.transactions = False
    program.save()
    assert admin_client.get(tab()).status_code == 404
    assert admin_client.get(return_url()).status_code == 404
    html = admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "Anna-1"})).content.decode()
    assert "profile-summary" not in html and tab() not in html


def test_profile_summary(admin_client, anna):
    checkout("T-2", total=80)
    # A redeemed coupon makes it discounted (the coupon flow itself is the coupons app's test).
    Transaction.objects.filter(transaction_id="T-2").update(coupon_codes=["C-1"])
    checkout("T-3", total=40)
    checkout("T-4", total=999)
    register("checkout_reject", data={"transaction_id": "T-4"})  # not closed: not counted
    register("partial_refund", data={"transaction_id": "T-3", "amount": "15"})
    summary = sessions.profile_summary(t_customer())
    assert summary == {
        "discounted_orders": 2,
        "undiscounted_orders": 1,
        "accrued_discounts": Decimal("10.00"),
        "net_revenue": Decimal("405.00"),  # 300 + 80 + 40 - 15
    }
    html = admin_client.get(reverse("customers:customer_overview", kwargs={"ref": "Anna-1"})).content.decode()
    assert 'data-testid="summary-discounted">2<' in html and "405.00" in html
    assert 'data-testid="customer-environment">Live<' in html


def test_profile_summary_counts_each_order_once_and_sums_every_discounted_line(anna):
    # Two discounted lines and a coupon on one order: one discounted order, both lines' discounts.
    checkout(
        "T-2",
        total=50,
        items=[item("P-3", subtotal=30, discount=2.5), item("P-4", subtotal=20, discount=4)],
        coupon_codes=["C-9"],
    )
    checkout("T-3", total=70, items=[item("P-5", subtotal=70)])  # no discount, no coupon
    # A rejected order's discounts and total are not a closed session's.
    checkout("T-4", total=10, items=[item("P-6", subtotal=10, discount=7)])
    register("checkout_reject", data={"transaction_id": "T-4"})
    assert sessions.profile_summary(t_customer()) == {
        "discounted_orders": 2,  # T-1 (a line discount) and T-2
        "undiscounted_orders": 1,  # T-3
        "accrued_discounts": Decimal("16.50"),  # 10 + 2.50 + 4
        "net_revenue": Decimal("420.00"),  # 300 + 50 + 70
    }


def test_profile_summary_of_a_customer_without_orders(program):
    enroll("Nobody-1")
    from customers.models import Customer

    assert sessions.profile_summary(Customer.objects.get(customer_id="Nobody-1")) == {
        "discounted_orders": 0,
        "undiscounted_orders": 0,
        "accrued_discounts": Decimal("0"),
        "net_revenue": Decimal("0"),
    }
