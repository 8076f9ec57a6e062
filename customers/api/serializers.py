"""The Customer API object (001, "Customer API"), built with plain queries for speed.

`customer_object()` renders it; the Serializer classes below describe the same shape for the
OpenAPI schema (drf-spectacular) and delegate `to_representation` to it. Timestamps optin_at,
last_login_at and updated_at are Unix seconds, as in the reference; tier dates are ISO 8601.
`accounts` is present when the Multi-accounts module is on and `tiers` when Tiers is on (001).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from customers import queries
from customers.choices import CustomerStatus
from customers.lookup import REFERRAL_COUNT, REFERRER_ID, find_customer, parse_customer_ref
from customers.models import BUILTIN_ATTRIBUTES, Customer
from customers.queries import BALANCE_FIELDS
from loyalty import clock
from loyalty.jsonable import number
from loyalty.ledger.accounts import all_accounts
from loyalty.models import Program
from loyalty.tiers import effective_rows, expired_rows
from loyalty.tiers import structures as tier_structures
from segments.building import segments_of
from segments.lists import lists_of

from . import extensions

STATUS_LABELS = {value: str(label) for value, label in CustomerStatus.choices}
FIGURES = ("score", "spent", "reserved", "spendable", "pending", "expired")


def unix(value) -> int | None:
    return int(value.timestamp()) if value else None


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
        rows = queries.balances(customer.pk) if customer.pk else {}
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
    """The customer's tier in each structure, structures in their order (one plain query)."""
    if not customer.pk or not tier_structures():  # cached: no query when no structure exists
        return []
    places = queries.tier_places(customer.pk)
    now = clock.now(customer.environment)
    held = {place.structure_id: place for place, *_ in places}
    # A row due for review (expired, lock ended, points left the window) is shown as it is now.
    effective = effective_rows(customer, now, held) if expired_rows(held, now) else held
    result = []
    for place, code, name, threshold, structure_code, structure_name in places:
        place = effective.get(place.structure_id, place)
        if place is not held[place.structure_id]:
            code, name, threshold = place.tier.code, place.tier.name, place.tier.threshold
        result.append(
            {
                "id": code,
                "name": name,
                "since": place.since.isoformat() if place.since else None,
                "threshold": threshold,
                "expdate": place.expires_at.isoformat() if place.expires_at else None,
                "points": place.tier_points,
                "points_after_expiration": place.points_after_expiration,
                "structure": [{"id": structure_code, "name": structure_name}],
            }
        )
    return result


def customer_object(customer: Customer, *, program=None, fields=(), balances=None, referral=None) -> dict:
    """The Customer API object. `referral` is (referrer's customer ID, number of referrals) when
    the caller has read them already (read_customer does, in the customer's own query)."""
    program = program or Program.current()
    data: dict = {"_id": customer.customer_id}
    for name in BUILTIN_ATTRIBUTES:
        data[name] = getattr(customer, name)
    data["birth_date"] = customer.birth_date.isoformat() if customer.birth_date else None
    data["status"] = STATUS_LABELS.get(customer.status, customer.status)
    for name in FIGURES:
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
    data["referrer"], data["referrals"] = referral if referral is not None else referral_figures(customer)
    if fields:
        if any(f == "purchases" or f.startswith("purchases.") for f in fields):
            data["purchases"] = extensions.purchases(customer, program, list(fields))
        if "expiring_points" in fields or "expiring_points.history" in fields:
            data["expiring_points"] = extensions.expiring_points(
                customer, program, history="expiring_points.history" in fields
            )
        if "segments" in fields:  # "Segments that the customer is a part of" (000): index lookups
            data["segments"] = [{"id": s.pk, "name": s.name} for s in segments_of(customer.pk)]
        if "lists" in fields:
            data["lists"] = [{"id": str(item.pk), "name": item.name} for item in lists_of(customer.pk)]
    return data


def referral_figures(customer: Customer) -> tuple[str | None, int]:
    """(the referrer's customer ID or None, how many customers this one referred), in at most one
    plain query. A referrer already on the instance (set in memory, e.g. in a dry run) is used as
    is, and so are the figures the engine's locked lookup brought (customers.lookup): an event
    response costs no query for them."""
    known = not customer.referrer_id or Customer.referrer.is_cached(customer)  # type: ignore[attr-defined]
    referrer = None
    if known and customer.referrer_id and customer.referrer:
        referrer = customer.referrer.customer_id
    if known and not customer.pk:
        return referrer, 0
    count = customer.__dict__.get(REFERRAL_COUNT)
    if count is not None and (known or REFERRER_ID in customer.__dict__):
        return (referrer if known else customer.__dict__[REFERRER_ID]), int(count)
    fetched, referrals = queries.referral_figures(None if known else customer.referrer_id, customer.pk)
    return (referrer if known else fetched), referrals


def read_customer(environment: str, ref: str) -> tuple[Customer | None, tuple[str | None, int] | None]:
    """The customer for a read, and its referral figures when they came with it. A plain ID is one
    plain SELECT (loyalty.fastsql's columns and conversions) that also brings the referrer's ID and
    the referral count: the ORM's compile time dominated a read's CPU cost. `field:value` goes
    through find_customer."""
    field, value = parse_customer_ref(ref)  # refuses a NUL character like every lookup
    if field is not None:
        return find_customer(environment, ref), None
    customer, referral = queries.customer_with_referrals(environment, value)
    return customer, (referral if customer is not None else None)


def point_events(result) -> list[dict]:
    """The response's `events[]` (reference §8.3): the events that changed spendable points, each
    `{id, action, points, expdate, account: {id, name}}`; `expdate` is the expiry's calendar date
    in the program's time zone (YYYY-MM-DD), null when the points never expire."""
    items = []
    for event in result.point_events():
        account = event.account if event.account_id else None
        items.append(
            {
                "id": event.pk,
                "action": event.action,
                "points": event.points,
                "expdate": timezone.localdate(event.expires_at).isoformat() if event.expires_at else None,
                "account": {"id": account.code, "name": account.name} if account is not None else None,
            }
        )
    return items


def event_customer(customer: Customer, *, balances=None) -> dict:
    """The customer object of an Events API response (reference §8.3): the Customer API object with
    `id` (not `_id`) and `created_at` (Unix seconds)."""
    body = customer_object(customer, balances=balances)
    body = {"id": body.pop("_id"), "created_at": unix(customer.created_at), **body}
    return body


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


class AccountRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class PointEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    points = serializers.IntegerField()
    expdate = serializers.DateField(allow_null=True)
    account = AccountRefSerializer(allow_null=True)


class CustomerWithEventsSerializer(CustomerSerializer):
    """The response of POST /api/events: the customer after processing (`id` instead of `_id`,
    plus `created_at`), and its point events."""

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("_id", None)
        return {
            "id": serializers.CharField(help_text="customer ID"),
            "created_at": serializers.IntegerField(help_text="Unix seconds"),
            **fields,
        }

    events = PointEventSerializer(many=True)
    explain = serializers.DictField(required=False, help_text="only with ?dry_run=true")
