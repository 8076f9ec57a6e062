"""The Customer API object (001, "Customer API"), built with plain queries for speed.

`customer_object()` renders it; the Serializer classes below describe the same shape for the
OpenAPI schema (drf-spectacular) and delegate `to_representation` to it. Timestamps optin_at,
last_login_at and updated_at are Unix seconds, as in the reference; tier dates are ISO 8601.
`accounts` is present when the Multi-accounts module is on and `tiers` when Tiers is on (001).
"""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from customers.choices import CustomerStatus
from customers.models import BUILTIN_ATTRIBUTES, Customer
from events.engine import find_customer
from loyalty.accounts import all_accounts
from loyalty.models import CustomerTier, PointBalance, Program
from loyalty.tiers import structures as tier_structures

from . import extensions

BALANCE_FIELDS = ("earned", "spent", "pending", "reserved", "expired", "spendable")


def unix(value) -> int | None:
    return int(value.timestamp()) if value else None


def number(value) -> int | float:
    value = Decimal(value or 0)
    return int(value) if value == value.to_integral_value() else float(value)


def burn_rates(account, spendable: int) -> list[dict]:
    rates = []
    for rate in account.burn_rates or []:
        if not isinstance(rate, dict):
            continue
        points = int(rate.get("points") or 0)
        amount = rate.get("amount") or 0
        rates.append(
            {
                "amount": amount,
                "points": points,
                "currency": rate.get("currency") or "",
                "converted_amount": number(Decimal(str(amount)) * (spendable // points)) if points > 0 else 0,
                "unconverted_points": spendable % points if points > 0 else spendable,
            }
        )
    return rates


def accounts_list(customer, program, *, balances=None, expiring=False) -> list[dict]:
    """Every point account with the customer's figures. `balances` (code -> figures) overrides the
    database, for dry runs whose rows were rolled back."""
    if balances is None:
        rows = (
            {
                b.account_id: {f: getattr(b, f) for f in BALANCE_FIELDS}
                for b in PointBalance.objects.filter(customer=customer)
            }
            if customer.pk
            else {}
        )
        balances = {a.code: rows.get(a.pk) for a in all_accounts()}
    result = []
    for account in all_accounts():
        figures = balances.get(account.code) or dict.fromkeys(BALANCE_FIELDS, 0)
        item: dict = {"id": account.code, "name": account.name}
        item.update({f: figures.get(f, 0) for f in BALANCE_FIELDS})
        item["burn_rates"] = burn_rates(account, item["spendable"])
        if expiring:
            item["expiring_points"] = extensions.expiring_points(customer, program, account=account)
        result.append(item)
    return result


def tiers_list(customer) -> list[dict]:
    if not customer.pk or not tier_structures():  # cached: no query when no structure exists
        return []
    rows = CustomerTier.objects.filter(customer=customer).select_related("tier", "structure")
    return [
        {
            "id": row.tier.code,
            "name": row.tier.name,
            "since": row.since.isoformat() if row.since else None,
            "threshold": row.tier.threshold,
            "expdate": row.expires_at.isoformat() if row.expires_at else None,
            "points": row.tier_points,
            "points_after_expiration": row.points_after_expiration,
            "structure": [{"id": row.structure.code, "name": row.structure.name}],
        }
        for row in rows.order_by("structure__position", "structure__code")
    ]


def customer_object(customer: Customer, *, program=None, fields=(), balances=None) -> dict:
    program = program or Program.current()
    data: dict = {"_id": customer.customer_id}
    for name in BUILTIN_ATTRIBUTES:
        data[name] = getattr(customer, name)
    data["birth_date"] = customer.birth_date.isoformat() if customer.birth_date else None
    data["status"] = (
        CustomerStatus(customer.status).label if customer.status in CustomerStatus.values else customer.status
    )
    for name in ("score", "spent", "reserved", "spendable", "pending", "expired"):
        data[name] = getattr(customer, name)
    data["optin_at"] = unix(customer.optin_at)
    data["last_login_at"] = unix(customer.last_login_at)
    data["updated_at"] = unix(customer.updated_at)
    data["purchase_total"] = number(customer.purchase_total)
    data["purchase_count"] = customer.purchase_count
    data["purchase_items"] = customer.purchase_items
    data["purchase_last_date"] = (
        customer.purchase_last_date.isoformat() if customer.purchase_last_date else None
    )
    for name, value in (customer.custom or {}).items():
        data.setdefault(name, value)  # built-in attributes win over a clashing custom key
    if program.multi_accounts:
        data["accounts"] = accounts_list(
            customer, program, balances=balances, expiring="accounts.expiring_points" in fields
        )
    if program.tiers:
        data["tiers"] = tiers_list(customer)
    data["referrer"] = customer.referrer.customer_id if customer.referrer_id and customer.referrer else None
    data["referrals"] = Customer.objects.filter(referrer_id=customer.pk).count() if customer.pk else 0
    if any(f == "purchases" or f.startswith("purchases.") for f in fields):
        data["purchases"] = extensions.purchases(customer, program, list(fields))
    if "expiring_points" in fields or "expiring_points.history" in fields:
        data["expiring_points"] = extensions.expiring_points(
            customer, program, history="expiring_points.history" in fields
        )
    return data


def read_customer(environment: str, ref: str):
    """The customer for a read. A plain ID is one cheap query (no ORDER BY, nothing joined: the
    ORM's compile time dominates a read's CPU cost); `field:value` goes through find_customer."""
    if ":" in ref:
        return find_customer(environment, ref)
    rows = list(
        Customer.objects.filter(environment=environment, anonymized_at__isnull=True, customer_id=ref)[:1]
    )
    return rows[0] if rows else None


def point_events(result) -> list[dict]:
    """The response's `events[]`: the events that changed spendable points."""
    return [
        {
            "id": event.pk,
            "action": event.action,
            "points": event.points,
            "expdate": event.expires_at.isoformat() if event.expires_at else None,
            "account": event.account.code if event.account_id and event.account else None,
        }
        for event in result.point_events()
    ]


# Schema description ----------------------------------------------------------------------------


class BurnRateSerializer(serializers.Serializer):
    amount = serializers.FloatField()
    points = serializers.IntegerField()
    currency = serializers.CharField()
    converted_amount = serializers.FloatField()
    unconverted_points = serializers.IntegerField()


class ExpiringPointsSerializer(serializers.Serializer):
    today = serializers.IntegerField()
    this_month = serializers.IntegerField()
    this_year = serializers.IntegerField()
    next_month = serializers.IntegerField()
    next_year = serializers.IntegerField()
    reset_date = serializers.DateField(allow_null=True)
    history = serializers.ListField(child=serializers.DictField(), required=False)


class AccountSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    earned = serializers.IntegerField()
    spent = serializers.IntegerField()
    pending = serializers.IntegerField()
    reserved = serializers.IntegerField()
    expired = serializers.IntegerField()
    spendable = serializers.IntegerField()
    burn_rates = BurnRateSerializer(many=True)
    expiring_points = ExpiringPointsSerializer(required=False)


class TierStructureRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class TierSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    threshold = serializers.IntegerField()
    expdate = serializers.DateTimeField(allow_null=True)
    points = serializers.IntegerField()
    points_after_expiration = serializers.IntegerField()
    structure = TierStructureRefSerializer(many=True)


class CustomerSerializer(serializers.Serializer):
    """The Customer API object; custom attributes appear as further top-level properties."""

    _id = serializers.CharField(help_text="customer ID")
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    nickname = serializers.CharField()
    email = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    gender = serializers.CharField()
    language = serializers.CharField()
    currency = serializers.CharField()
    phone = serializers.CharField()
    mobile_phone = serializers.CharField()
    image_url = serializers.CharField()
    handler = serializers.CharField()
    country = serializers.CharField()
    city = serializers.CharField()
    zip = serializers.CharField()
    address = serializers.CharField()
    status = serializers.CharField(help_text="Inactive, Pending, Active, Suspended, Opted-out or Banned")
    score = serializers.IntegerField()
    spent = serializers.IntegerField()
    reserved = serializers.IntegerField()
    spendable = serializers.IntegerField()
    pending = serializers.IntegerField()
    expired = serializers.IntegerField()
    optin_at = serializers.IntegerField(allow_null=True, help_text="Unix seconds")
    last_login_at = serializers.IntegerField(allow_null=True, help_text="Unix seconds")
    updated_at = serializers.IntegerField(allow_null=True, help_text="Unix seconds")
    purchase_total = serializers.FloatField()
    purchase_count = serializers.IntegerField()
    purchase_items = serializers.IntegerField()
    purchase_last_date = serializers.DateField(allow_null=True)
    accounts = AccountSerializer(many=True, required=False, help_text="with the Multi-accounts module")
    tiers = TierSerializer(many=True, required=False, help_text="with the Tiers module")
    referrer = serializers.CharField(allow_null=True)
    referrals = serializers.IntegerField()
    purchases = serializers.DictField(required=False, help_text="fields=purchases.<period>|history")
    expiring_points = ExpiringPointsSerializer(required=False, help_text="fields=expiring_points[.history]")

    def to_representation(self, instance):
        return customer_object(instance, fields=self.context.get("fields", ()))


class PointEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    points = serializers.IntegerField()
    expdate = serializers.DateTimeField(allow_null=True)
    account = serializers.CharField(allow_null=True)


class CustomerWithEventsSerializer(CustomerSerializer):
    """The response of POST /api/events: the customer after processing, and its point events."""

    events = PointEventSerializer(many=True)
    explain = serializers.DictField(required=False, help_text="only with ?dry_run=true")
