"""Guest checkouts and their claim (001), purchase statistics and the `purchases` extension,
and 002's checkout JSON versus its form-encoded body."""

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import time_machine

from customers.models import Customer
from events.engine import register_event
from events.models import Event
from loyalty.api.parsers import parse_brackets
from loyalty.errors import Conflict, NotFound, ValidationError
from tests.factories import enroll, register
from transactions import stats
from transactions.models import Transaction

from .helpers import ITEM, checkout, item, rule, spendable, tx

pytestmark = pytest.mark.django_db


def guest(tid="G-1", total=120, who="Guest@Example.com", **kwargs):
    result = register_event(
        environment="live",
        customer=None,
        action="checkout",
        data={"transaction_id": tid, "total": total, "guest": who},
        **kwargs,
    )
    return result.extra["transaction"]


def test_a_guest_checkout_is_an_event_without_a_customer_registered_by_the_engine(program):
    t = guest(source="api", ip_address="192.0.2.1")
    event = Event.objects.get(action="checkout", transaction_id="G-1")
    assert event.customer_id is None and t.checkout_event_id == event.pk
    assert event.data == {"transaction_id": "G-1", "total": 120, "guest": "guest@example.com"}
    assert str(event.ip_address) == "192.0.2.1" and event.source == "api"


def test_a_guest_checkout_dry_run_stores_nothing(program):
    result = register_event(
        environment="live",
        customer=None,
        action="checkout",
        data={"transaction_id": "G-7", "total": 10, "guest": "x@example.com"},
        dry_run=True,
    )
    assert result.dry_run and result.extra["transaction"].transaction_id == "G-7"
    assert not Transaction.objects.exists() and not Event.objects.exists()


def test_a_guest_checkout_has_no_profile_and_earns_nothing_until_claimed(program):
    rule()
    t = guest()
    assert t.customer is None and t.guest == "guest@example.com" and t.status == "accepted"
    assert not Customer.objects.exists()
    enroll("Bob-2")
    register("checkout_claim", "Bob-2", {"transaction_id": "G-1"})
    t = tx("G-1")
    assert t.customer.customer_id == "Bob-2" and t.points_earned == 120 and spendable("Bob-2") == 120
    assert Customer.objects.get(customer_id="Bob-2").purchase_count == 1


def test_a_claimed_guest_transaction_cannot_be_claimed_again(program):
    rule()
    guest()
    enroll("Bob-2")
    enroll("Eve-3")
    register("checkout_claim", "Bob-2", {"transaction_id": "G-1"})
    with pytest.raises(Conflict, match="another customer"):
        register("checkout_claim", "Eve-3", {"transaction_id": "G-1"})
    with pytest.raises(NotFound):
        register("checkout_claim", "Eve-3", {"transaction_id": "nope"})


def test_enrolling_with_the_guest_email_claims_the_guest_transactions(program):
    rule()
    guest("G-1", 50)
    guest("G-2", 70, who="someone-else@example.com")
    result = register("opt_in", "Carol-4", {"email": "GUEST@example.com"})
    assert [e.action for e in result.events].count("checkout_claim") == 1
    assert tx("G-1").customer.customer_id == "Carol-4" and tx("G-2").customer is None
    assert spendable("Carol-4") == 50


def test_a_guest_checkout_with_a_known_id_or_no_identifier_is_refused(program):
    guest()
    with pytest.raises(Conflict, match="already exists"):
        guest()
    with pytest.raises(ValidationError):
        guest("G-9", who="  ")


def test_purchase_figures_follow_updates_refunds_and_rejections(program):
    rule()
    enroll()
    checkout("T-1", 100, items=[item("A", 100, quantity=2)])
    checkout("T-2", 50, items=[item("B", 50)])
    c = Customer.objects.get(customer_id="Anna-1")
    assert (c.purchase_total, c.purchase_count, c.purchase_items) == (Decimal("150"), 2, 3)
    register("partial_refund", data={"transaction_id": "T-1", "amount": 40})
    register("checkout_reject", data={"transaction_id": "T-2"})
    c.refresh_from_db()
    assert (c.purchase_total, c.purchase_count, c.purchase_items) == (Decimal("60"), 1, 2)
    assert c.purchase_last_date is not None


def test_the_purchases_extension_covers_every_period_and_history(program):
    rule()
    enroll()
    with time_machine.travel(dt.datetime(2025, 12, 20, 12, tzinfo=dt.UTC), tick=False):
        checkout("T-OLD", 10)
    with time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False):
        checkout("T-MAR", 20, items=[item("A", 20, quantity=2)])
    with time_machine.travel(dt.datetime(2026, 4, 14, 9, tzinfo=dt.UTC), tick=False):
        checkout("T-YEST", 30)
    with time_machine.travel(dt.datetime(2026, 4, 15, 9, tzinfo=dt.UTC), tick=False):
        checkout("T-TODAY", 40)
        register("refund", data={"transaction_id": "T-OLD"})
    c = Customer.objects.get(customer_id="Anna-1")
    now = dt.datetime(2026, 4, 15, 18, tzinfo=dt.UTC)
    periods = [
        "today",
        "yesterday",
        "this_week",
        "wtd",
        "mtd",
        "last_month",
        "qtd",
        "ytd",
        "last_30days",
        "last_12months",
        "last_24months",
    ]
    p = stats.purchases(c, periods, history=True, now=now)
    assert p["overall"] == {"total": 90, "count": 3, "items": 2 + 0 + 0}
    assert p["today"]["total"] == 40 and p["yesterday"]["total"] == 30
    assert p["mtd"]["count"] == 2 and p["last_month"] == {"total": 20, "count": 1, "items": 2}
    assert p["qtd"]["count"] == 2 and p["ytd"]["count"] == 3
    assert p["wtd"] == p["this_week"] and p["this_week"]["count"] == 2  # Monday 13 April
    assert p["last_30days"]["count"] == 3 and p["last_12months"]["count"] == 3
    assert list(p["history"]) == ["2026-03-31", "2026-04-14", "2026-04-15"]
    with pytest.raises(ValueError):
        stats.purchases(c, ["fortnight"], now=now)


# 002's cURL body, with the product ID of its JSON example (the page's two examples differ there).
CURL_BODY = (
    "customer=374397439743&action=checkout&data%5Btransaction_id%5D=5475-4343-4343-4343-3333&data%5Btotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Btransaction_id%5D=5475-4343-4343-4343-3333&data%5Bitems%5D%5B0%5D%5Bquantity%5D=1"
    "&data%5Bitems%5D%5B0%5D%5Bprice%5D=200&data%5Bitems%5D%5B0%5D%5Bsubtotal%5D=200"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_name%5D=Yellow%20T-Shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_id%5D=UFA-8888-94394-EN%2F38%2FYELLOW"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_url%5D=https%3A%2F%2Fexample.com%2Fyellow-t-shirt"
    "&data%5Bitems%5D%5B0%5D%5Bproduct_category%5D=t-shirts"
)
JSON_BODY = {
    "customer": "374397439743",
    "action": "checkout",
    "data": {
        "total": "200",
        "transaction_id": "5475-4343-4343-4343-3333",
        "items": [{"transaction_id": "5475-4343-4343-4343-3333", **ITEM}],
    },
}


def _shape(t):
    items = list(
        t.items.values(
            "product_id",
            "product_name",
            "product_url",
            "product_category",
            "quantity",
            "price",
            "discount",
            "subtotal",
        )
    )
    return (t.status, t.total, t.points_earned, items)


def test_002_checkout_json_and_form_encoded_body_make_the_same_transaction(program):
    rule()
    form = parse_brackets(parse_qsl(CURL_BODY))
    register(JSON_BODY["action"], JSON_BODY["customer"], JSON_BODY["data"])
    json_tx = _shape(tx("5475-4343-4343-4343-3333"))
    register(form["action"], form["customer"], form["data"], environment="sandbox")
    form_tx = _shape(
        Transaction.objects.get(environment="sandbox", transaction_id="5475-4343-4343-4343-3333")
    )
    assert json_tx == form_tx
    assert json_tx[1] == 200 and json_tx[2] == 200 and json_tx[3][0]["product_name"] == "Yellow T-Shirt"


def test_pending_checkouts_count_as_purchases_until_rejected(program):
    rule()
    program.checkout_accept = True
    program.save()
    enroll()
    checkout("T-1", 70, items=[item("A", 70, quantity=3)])
    c = Customer.objects.get(customer_id="Anna-1")
    assert (c.purchase_total, c.purchase_count, c.purchase_items) == (Decimal("70"), 1, 3)
    register("checkout_reject", data={"transaction_id": "T-1"})
    c.refresh_from_db()
    assert (c.purchase_total, c.purchase_count, c.purchase_items) == (Decimal("0"), 0, 0)
    assert stats.purchases(c, ["mtd"])["mtd"]["count"] == 0
