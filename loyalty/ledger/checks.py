"""Consistency checks of the points ledger, for tests and operators (`verify_customer`).

Returns human-readable problems; an empty list means the customer's books balance:
- per account: spendable == sum(remaining of ACTIVE lots), pending == sum(points of PENDING lots),
  reserved == sum(reserved of lots), earned == spendable + pending + reserved + spent + expired,
  no figure negative;
- the Customer row's totals equal the sums over its accounts.
"""

from __future__ import annotations

from collections import defaultdict

from loyalty.models import PointBalance, PointLot
from loyalty.models.ledger import LotStatus

from .accounts import default_account
from .operations import TOTALS


def lot_figures(customer_pk: int) -> dict[int, dict]:
    figures: dict[int, dict] = defaultdict(lambda: {"spendable": 0, "pending": 0, "reserved": 0})
    for lot in PointLot.objects.filter(customer_id=customer_pk):
        row = figures[lot.account_id]
        if lot.status == LotStatus.ACTIVE:
            row["spendable"] += lot.remaining
        elif lot.status == LotStatus.PENDING:
            row["pending"] += lot.points
        elif lot.remaining != 0:
            problems = f"lot {lot.pk} is {lot.status} with {lot.remaining} points left"
            row.setdefault("problems", []).append(problems)
        row["reserved"] += lot.reserved
        if min(lot.used, lot.expired_points, lot.reserved, lot.remaining) < 0:
            row.setdefault("problems", []).append(f"lot {lot.pk} has a negative count")
    return figures


def verify_customer(customer) -> list[str]:
    problems: list[str] = []
    lots = lot_figures(customer.pk)
    sums = dict.fromkeys(TOTALS, 0)
    for balance in PointBalance.objects.filter(customer=customer):
        expected = lots.get(balance.account_id, {"spendable": 0, "pending": 0, "reserved": 0})
        problems.extend(expected.get("problems", []))
        for name in ("spendable", "pending", "reserved"):
            if getattr(balance, name) != expected[name]:
                problems.append(
                    f"account {balance.account_id}: {name} {getattr(balance, name)} != lots {expected[name]}"
                )
        parts = balance.spendable + balance.pending + balance.reserved + balance.spent + balance.expired
        if balance.earned != parts:
            problems.append(f"account {balance.account_id}: earned {balance.earned} != {parts}")
        for name in TOTALS:
            if getattr(balance, name) < 0:
                problems.append(f"account {balance.account_id}: {name} is negative")
            if balance.account_id == default_account().pk:  # the top-level figures (issue 16 §3)
                sums[name] += getattr(balance, name)
    accounts_with_rows = set(
        PointBalance.objects.filter(customer=customer).values_list("account_id", flat=True)
    )
    for account_id, expected in lots.items():
        if account_id not in accounts_with_rows and any(
            expected[k] for k in ("spendable", "pending", "reserved")
        ):
            problems.append(f"account {account_id}: lots without a balance row")
    customer.refresh_from_db(fields=list(TOTALS.values()))
    for name, total in TOTALS.items():
        if getattr(customer, total) != sums[name]:
            problems.append(f"customer {total} {getattr(customer, total)} != default account {sums[name]}")
    return problems
