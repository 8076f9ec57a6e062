"""Helpers for the commerce tests: register events as an integration would, read balances."""

from decimal import Decimal

from loyalty.ledger.accounts import default_account
from loyalty.models import PointBalance
from tests.factories import register
from transactions.models import EarningRule, Transaction

ITEM = {
    "product_id": "UFA-8888-94394-EN/38/YELLOW",
    "product_name": "Yellow T-Shirt",
    "product_url": "https://example.com/yellow-t-shirt",
    "quantity": "1",
    "subtotal": "200",
    "price": "200",
    "product_category": "t-shirts",
}


def add_points(points, customer="Anna-1"):
    return register("point_add", customer, {"points": points})


def checkout(tid="T-1", total=200, customer="Anna-1", items=None, **data):
    body = {"transaction_id": tid, "total": total, **data}
    if items is not None:
        body["items"] = items
    return register("checkout", customer, body)


def item(product_id="P-1", subtotal=100, quantity=1, category="shirts", **extra):
    return {
        "product_id": product_id,
        "product_name": f"Product {product_id}",
        "quantity": quantity,
        "price": subtotal / quantity if quantity else subtotal,
        "subtotal": subtotal,
        "product_category": category,
        **extra,
    }


def rule(**fields) -> EarningRule:
    values = {"points_per_unit": Decimal("1"), **fields}
    return EarningRule.objects.update_or_create(account=default_account(), defaults=values)[0]


def balance(customer="Anna-1") -> PointBalance | None:
    return PointBalance.objects.filter(customer__customer_id=customer, account=default_account()).first()


def spendable(customer="Anna-1") -> int:
    row = balance(customer)
    return row.spendable if row else 0


def tx(tid="T-1") -> Transaction:
    return Transaction.objects.get(transaction_id=tid)
