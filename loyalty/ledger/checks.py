"""Consistency checks of the points ledger, for tests and operators (`verify_customer` for one
customer; `iter_problems` / `check_invariants` for every customer, in chunks: `manage.py check_ledger`).

Returns human-readable problems; an empty list means the customer's books balance:
- per account: spendable == sum(remaining of ACTIVE lots), pending == sum(points of PENDING lots),
  reserved == sum(reserved of lots), earned == spendable + pending + reserved + spent + expired,
  no figure negative;
- the Customer row's totals equal its default account's figures (the top-level figures: docs/ledger.md;
  other accounts stay separate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Sum

from customers.models import Customer
from events.models import Event
from loyalty.models import LedgerEntry, PointBalance, PointLot
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
            if balance.account_id == default_account().pk:  # the top-level figures
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


def verify_event_points(customer) -> list[str]:
    """The events tell the truth about points: each event of the customer carries
    the sum of its ledger entries for the customer, in the account they are in; so per account,
    the events' points add up to the ledger's. Returns problems; empty when they reconcile."""
    problems: list[str] = []
    by_event: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for event_id, account_id, amount in LedgerEntry.objects.filter(customer=customer).values_list(
        "event_id", "account_id", "amount"
    ):
        by_event[event_id][account_id] += amount
    default = default_account().pk
    event_sums: dict[int, int] = defaultdict(int)
    for pk, action, points, account_id in Event.objects.filter(customer=customer).values_list(
        "pk", "action", "points", "account_id"
    ):
        entries = by_event.pop(pk, {})
        if points != sum(entries.values()):
            problems.append(
                f"event {pk} ({action}) shows {points} points; its entries changed {sum(entries.values())}"
            )
        event_sums[account_id or default] += points
    for event_id, entries in by_event.items():
        if any(entries.values()):
            problems.append(f"entries of event {event_id} of another customer change {dict(entries)}")
    ledger = dict(
        LedgerEntry.objects.filter(customer=customer)
        .values_list("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    for account_id in set(ledger) | set(event_sums):
        if ledger.get(account_id, 0) != event_sums.get(account_id, 0):
            problems.append(
                f"account {account_id}: events carry {event_sums.get(account_id, 0)} points, "
                f"the ledger {ledger.get(account_id, 0)}"
            )
    return problems


LOT_FIELDS = ("customer_id", "account_id", "pk", "status", "points", "used", "expired_points", "reserved")


def iter_problems(chunk_size: int = 500) -> Iterator[str]:
    """Every ledger invariant violation of every customer, walking customers by primary key in
    chunks of `chunk_size` (memory bounded by one chunk's lots and balances, whatever the number
    of events or customers). The checks are those of `verify_customer`, done set-wise per chunk:
    3 queries per chunk."""
    last = 0
    totals = list(TOTALS.values())
    while True:
        customers = list(
            Customer.objects.filter(pk__gt=last).order_by("pk").values_list("pk", *totals)[:chunk_size]
        )
        if not customers:
            return
        last = customers[-1][0]
        ids = [row[0] for row in customers]
        lots: dict[tuple[int, int], dict] = defaultdict(lambda: {"spendable": 0, "pending": 0, "reserved": 0})
        for customer_id, account_id, pk, status, points, used, expired, reserved in (
            PointLot.objects.filter(customer_id__in=ids).values_list(*LOT_FIELDS).iterator(chunk_size=5000)
        ):
            row = lots[(customer_id, account_id)]
            remaining = points - used - expired - reserved
            if status == LotStatus.ACTIVE:
                row["spendable"] += remaining
            elif status == LotStatus.PENDING:
                row["pending"] += points
            elif remaining != 0:
                yield f"customer {customer_id}: lot {pk} is {status} with {remaining} points left"
            row["reserved"] += reserved
            if min(used, expired, reserved, remaining) < 0:
                yield f"customer {customer_id}: lot {pk} has a negative count"
        sums: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTALS, 0))
        seen: set[tuple[int, int]] = set()
        default_id = default_account().pk
        for balance in PointBalance.objects.filter(customer_id__in=ids).iterator(chunk_size=5000):
            where = (balance.customer_id, balance.account_id)
            seen.add(where)
            expected = lots.get(where, {"spendable": 0, "pending": 0, "reserved": 0})
            prefix = f"customer {balance.customer_id} account {balance.account_id}"
            for name in ("spendable", "pending", "reserved"):
                if getattr(balance, name) != expected[name]:
                    yield f"{prefix}: {name} {getattr(balance, name)} != lots {expected[name]}"
            parts = balance.spendable + balance.pending + balance.reserved + balance.spent + balance.expired
            if balance.earned != parts:
                yield f"{prefix}: earned {balance.earned} != {parts}"
            for name in TOTALS:
                if getattr(balance, name) < 0:
                    yield f"{prefix}: {name} is negative"
                if balance.account_id == default_id:  # the Customer row carries this account's figures
                    sums[balance.customer_id][name] += getattr(balance, name)
        for where, expected in lots.items():
            if where not in seen and any(expected[k] for k in ("spendable", "pending", "reserved")):
                yield f"customer {where[0]} account {where[1]}: lots without a balance row"
        for row in customers:
            customer_id, values = row[0], dict(zip(totals, row[1:], strict=True))
            for name, total in TOTALS.items():
                if values[total] != sums[customer_id][name]:
                    yield f"customer {customer_id}: {total} {values[total]} != default account {sums[customer_id][name]}"


def check_invariants(chunk_size: int = 500, limit: int = 1000) -> list[str]:
    """The first `limit` problems of `iter_problems` (an empty list: the whole ledger balances)."""
    problems = []
    for problem in iter_problems(chunk_size):
        problems.append(problem)
        if len(problems) >= limit:
            break
    return problems
