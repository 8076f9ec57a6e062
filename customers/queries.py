"""Read SQL of the customers app, in one place: the plain statements used where the ORM's compile
time dominated a request's CPU (the Customer API read and the engine's customer lock).

All of them go through loyalty.fastsql (its reused cursor, the ORM's column conversions, query
logging for assertNumQueries). Writes never happen here.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from loyalty import fastsql
from loyalty.models import CustomerTier, PointBalance, Tier, TierStructure

from .models import Customer

BALANCE_FIELDS = ("earned", "spent", "pending", "reserved", "expired", "spendable")


def _table(model=Customer) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def rows(sql: str, params: list) -> list[tuple]:
    cursor = fastsql.cursor()
    cursor.execute(sql, params)
    return cursor.fetchall()


def referral_columns(alias: str) -> tuple[str, str]:
    """The one definition of a customer's referral figures, as SQL expressions over the customer
    row named `alias`: (the referrer's customer ID, how many customers name this one as referrer)."""
    table = _table()
    return (
        f"(SELECT r.customer_id FROM {table} r WHERE r.id = {alias}.referrer_id)",
        f"(SELECT COUNT(*) FROM {table} r WHERE r.referrer_id = {alias}.id)",
    )


def referral_figures(referrer_pk: int | None, customer_pk: int) -> tuple[str | None, int]:
    """(customer ID of the customer `referrer_pk`, or None; number of customers referred by
    `customer_pk`) in one statement."""
    table = _table()
    ((referrer, referrals),) = rows(
        f"SELECT (SELECT customer_id FROM {table} WHERE id = %s), "
        f"(SELECT COUNT(*) FROM {table} WHERE referrer_id = %s)",
        [referrer_pk, customer_pk],
    )
    return referrer, int(referrals or 0)


@lru_cache(maxsize=4)
def _customer_sql(vendor: str) -> str:
    table = _table()
    referrer, referrals = referral_columns("c")
    return (
        f"SELECT {fastsql.columns(Customer, vendor, 'c.')[0]}, {referrer}, {referrals} "
        f"FROM {table} c WHERE c.environment = %s AND c.customer_id = %s AND c.anonymized_at IS NULL LIMIT 1"
    )


def customer_with_referrals(
    environment: str, customer_id: str
) -> tuple[Customer | None, tuple[str | None, int]]:
    """The live customer with this ID, with its referral figures, in one plain SELECT."""
    found = rows(_customer_sql(connection.vendor), [environment, customer_id])
    if not found:
        return None, (None, 0)
    columns = fastsql.columns(Customer, connection.vendor, "c.")
    width = len(columns[1])
    customer = fastsql.build(Customer, columns, found[0][:width], connection)
    referrer, referrals = found[0][width:]
    return customer, (referrer, int(referrals or 0))


@lru_cache(maxsize=4)
def _balances_sql(vendor: str) -> str:
    figures = ", ".join(connection.ops.quote_name(f) for f in BALANCE_FIELDS)
    return f"SELECT account_id, {figures} FROM {_table(PointBalance)} WHERE customer_id = %s"


def balances(customer_pk: int) -> dict[int, dict[str, int]]:
    """{account id: {figure: points}} of the customer's balance rows (BALANCE_FIELDS)."""
    return {
        row[0]: dict(zip(BALANCE_FIELDS, row[1:], strict=True))
        for row in rows(_balances_sql(connection.vendor), [customer_pk])
    }


@lru_cache(maxsize=4)
def _tiers_sql(vendor: str) -> str:
    places, tiers, structures = (_table(m) for m in (CustomerTier, Tier, TierStructure))
    return (
        f"SELECT {fastsql.columns(CustomerTier, vendor, 'ct.')[0]}, t.code, t.name, t.threshold, s.code, s.name "
        f"FROM {places} ct JOIN {tiers} t ON t.id = ct.tier_id JOIN {structures} s ON s.id = ct.structure_id "
        "WHERE ct.customer_id = %s ORDER BY s.position, s.code"
    )


def tier_places(customer_pk: int) -> list[tuple[CustomerTier, str, str, int, str, str]]:
    """The customer's tier in each structure, structures in their order: (CustomerTier, tier code,
    tier name, threshold, structure code, structure name) per structure."""
    columns = fastsql.columns(CustomerTier, connection.vendor, "ct.")
    width = len(columns[1])
    return [
        (fastsql.build(CustomerTier, columns, row[:width], connection), *row[width:])
        for row in rows(_tiers_sql(connection.vendor), [customer_pk])
    ]
