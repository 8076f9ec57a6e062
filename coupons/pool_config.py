"""Creating and updating coupon pools with the reference's attributes (Coupon Pools API).

The reference: `POST /v1/coupon-pools` and `POST /v1/coupon-pools/{id}/update`
(api-evangelist/antavo openapi/antavo-coupon-pools-openapi.yml). Its validation codes 202001–202041
are used as they are; 202042–202044 are ours (docs/api.md "Error codes").

A pool is program configuration, not customer state, so this runs outside the engine (as the
console's pool form does) and each change is recorded in the change log by the caller. What
customers hold changes only through events: `update_method` decides which existing coupons follow
a new value — the others keep theirs in `Coupon.value` (`Coupon.face_value` reads it).

Attributes, shapes and units:
- `name` (string ≤ 200), `source` (`uploaded` — the reference's only value — or `generated`),
  `type` (`amount`, `percentage`, `free_shipping`, `gift_card`), `external_id` (6–24 characters,
  unique), `value` (> 0, 2 decimals; a percentage ≤ 100; free shipping: ignored),
  `purchase_minimum` (≥ 1), `minimum_value` / `minimum_redemption_value` / `currency` (gift cards
  only), `expiration_time` ("N days|weeks|months|years", ≤ 10 years), `aggregated` (boolean),
  `products` (array of product IDs, ≤ 1,000 of ≤ 64 characters; the engine has no product
  catalog: they are handed to the shop with the pool), `stores` (must be empty: the engine has no
  Stores module, so no store ID is valid — 202028).
- `update_method`: `update_all` (every coupon follows the new value), `update_none` (existing
  coupons keep theirs), `update_not_redeemed` (redeemed coupons keep theirs),
  `update_unassigned` (only coupons nobody holds follow); `update_matching` (only coupons whose
  value equals the pool's old value follow).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q

from loyalty import clock
from loyalty.bounds import is_digits
from loyalty.errors import NotFound, ValidationError
from loyalty.ledger.reward_dates import MAX_RELATIVE_MONTHS, Relative, apply_relative, parse_relative

from .choices import CouponStatus, CouponType, PoolSource
from .models import Coupon, CouponPool

C = CouponStatus
UPDATE_METHODS = ("update_all", "update_none", "update_not_redeemed", "update_unassigned")
MONEY_MAX = Decimal("999999999999.99")  # the columns' 14 digits
MAX_PRODUCTS = 1000
GIFT_ONLY = (("minimum_value", 202039), ("minimum_redemption_value", 202040), ("currency", 202041))


def _bad(message: str, field: str, code: int) -> ValidationError:
    return ValidationError(message, field=field, code=code)


# --- expiration_time ---------------------------------------------------------------------------


def parse_expiration_time(text, field: str = "expiration_time") -> Relative:
    """ "2 months", "30 days", "1 year" → a Relative; years count as 12 months. Raises 202024."""
    if not isinstance(text, str):
        raise _bad("The expiration_time must be a string", field, 202023)
    spec = text.strip()
    words = spec.split()
    if len(words) == 2 and is_digits(words[0]) and words[1].lower() in ("year", "years"):
        spec = f"{int(words[0][:7]) * 12} months"
    try:
        rel = parse_relative(spec, field)
    except ValidationError:
        rel = None
    if rel is None or rel.snap or rel.unit not in ("days", "weeks", "months"):
        raise _bad(
            "Given expiration_time parameter is invalid: give a number and days, weeks, months or years, "
            "e.g. '2 months'.",
            field,
            202024,
        )
    days_per_month = (
        365.25 / 12
    )  # so that "3652 days" and "521 weeks" are within 10 years, as "120 months" is
    months = (
        rel.amount if rel.unit == "months" else rel.amount * (1 if rel.unit == "days" else 7) / days_per_month
    )
    if months > MAX_RELATIVE_MONTHS:
        raise _bad(
            f"Given expiration_time parameter is invalid: at most {MAX_RELATIVE_MONTHS // 12} years.",
            field,
            202025,
        )
    return rel


def expiration_after(text: str, moment: dt.datetime) -> dt.datetime:
    """The end of a coupon's validity that began at `moment`, in the program's time zone."""
    return apply_relative(moment, parse_expiration_time(text), clock.zone().key, "expiration_time")


# --- attribute checks --------------------------------------------------------------------------


def _string(data: dict, name: str, code: int, *, max_length: int = 200) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise _bad(f"The {name} must be a string", name, code)
    value = value.strip()
    if len(value) > max_length or "\x00" in value:
        raise _bad(f"The {name} must be a string of at most {max_length} characters", name, code)
    return value


def _number(data: dict, name: str, code: int, minimum: Decimal, min_code: int) -> Decimal | None:
    value = data[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise _bad(f"The {name} must be a number", name, code)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(f"The {name} must be a number", name, code) from None
    if not number.is_finite():
        raise _bad(f"The {name} must be a number", name, code)
    if abs(number) > MONEY_MAX:
        raise _bad(f"The {name} must be a number of at most {MONEY_MAX}", name, code)
    if number != number.quantize(Decimal("0.01")):
        raise _bad(f"The {name} must be a value with up to 2 decimal places", name, 202013)
    if number < minimum:
        raise _bad(f"The {name} must be at least {minimum}", name, min_code)
    return number


def _checked(data: dict, pool: CouponPool) -> dict:
    """The attributes of `data` that set pool fields, checked; raises ValidationError (202xxx)."""
    fields: dict = {}
    if "name" in data:
        fields["name"] = _string(data, "name", 202008)
        if not fields["name"]:
            raise _bad("The name is required", "name", 202007)
    if "source" in data:
        if data["source"] not in PoolSource.values:
            raise _bad("Given source parameter is invalid: uploaded or generated", "source", 202006)
        fields["source"] = data["source"]
    if "type" in data:
        if not isinstance(data["type"], str):
            raise _bad("The type must be a string", "type", 202010)
        if data["type"] not in CouponType.values:
            raise _bad(
                "Given type parameter is invalid: amount, percentage, free_shipping or gift_card",
                "type",
                202011,
            )
        fields["type"] = data["type"]
    kind = fields.get("type", pool.type)
    if "external_id" in data:
        if data["external_id"] is None:
            fields["external_id"] = None
        else:
            external_id = _string(data, "external_id", 202030, max_length=24)
            if not 6 <= len(external_id) <= 24:
                raise _bad("The external_id must be between 6 and 24 characters", "external_id", 202032)
            if CouponPool.objects.filter(external_id=external_id).exclude(pk=pool.pk).exists():
                raise _bad("The external_id must be unique", "external_id", 202031)
            fields["external_id"] = external_id
    if "value" in data:  # a free-shipping pool's value is ignored: 0 is fine
        minimum = Decimal("0") if kind == CouponType.FREE_SHIPPING else Decimal("0.01")
        value = _number(data, "value", 202012, minimum, 202014)
        if value is None:
            raise _bad("The value must be a number", "value", 202012)
        fields["value"] = value
    value = fields.get("value", pool.value)
    if kind == CouponType.PERCENTAGE and value > 100:
        raise _bad("A percentage pool's value is at most 100", "value", 202042)
    if kind in (CouponType.AMOUNT, CouponType.GIFT_CARD, CouponType.PERCENTAGE) and value <= 0:
        raise _bad("The value must be at least 0.01", "value", 202014)
    if "purchase_minimum" in data:
        fields["purchase_minimum"] = _number(data, "purchase_minimum", 202015, Decimal("1"), 202016)
    for name, code in GIFT_ONLY:
        if name in data and data[name] not in (None, ""):
            if kind != CouponType.GIFT_CARD:
                raise _bad(f"The {name} is not allowed for this type of pool", name, code)
            if name == "currency":
                currency = _string(data, "currency", 202021, max_length=3)
                if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
                    raise _bad("The currency must contain only letters (ISO 4217, e.g. EUR)", name, 202022)
                fields["currency"] = currency.upper()
            else:
                fields[name] = _number(
                    data,
                    name,
                    202017 if name == "minimum_value" else 202019,
                    Decimal("1"),
                    202018 if name == "minimum_value" else 202020,
                )
    if kind != CouponType.GIFT_CARD:  # a pool that is (or becomes) no gift card has none of these
        for name, _code in GIFT_ONLY:
            if getattr(pool, name) not in (None, "") and name not in fields:
                fields[name] = "" if name == "currency" else None
    if "expiration_time" in data:
        text = data["expiration_time"]
        if text in (None, ""):
            fields["expiration_time"] = ""
        else:
            parse_expiration_time(text)
            fields["expiration_time"] = text.strip()
    if "aggregated" in data:
        if not isinstance(data["aggregated"], bool):
            raise _bad("The aggregated must be a boolean", "aggregated", 202026)
        fields["aggregated"] = data["aggregated"]
    if "stores" in data:
        if not isinstance(data["stores"], list):
            raise _bad("The stores must be an array", "stores", 202027)
        if data["stores"]:
            raise _bad(
                "The stores must be a valid store id: this engine has no Stores module", "stores", 202028
            )
        fields["stores"] = []
    if "products" in data:
        products = data["products"]
        if not isinstance(products, list):
            raise _bad("The products must be an array", "products", 202029)
        if len(products) > MAX_PRODUCTS or not all(
            isinstance(item, str) and 0 < len(item.strip()) <= 64 and "\x00" not in item for item in products
        ):
            raise _bad(
                f"The products must be at most {MAX_PRODUCTS} product IDs of 1 to 64 characters",
                "products",
                202043,
            )
        fields["products"] = list(dict.fromkeys(item.strip() for item in products))
    return fields


def check_attributes(data: dict, pool: CouponPool) -> tuple[dict, dict[str, ValidationError]]:
    """`data`'s attributes checked one at a time by the rules of create_pool / update_pool, so
    that every broken rule is found at once: (the pool fields the valid ones set, normalized;
    {field: its first ValidationError}). `pool` is the pool as it would be (its pk, type and
    value: the rules that depend on them read it). The console's pool form uses this."""
    fields: dict = {}
    errors: dict[str, ValidationError] = {}
    for name, value in data.items():
        try:
            fields.update(_checked({name: value}, pool))
        except ValidationError as error:
            errors.setdefault(error.field or name, error)
    return fields, errors


# --- create and update ---------------------------------------------------------------------------


def create_pool(data: dict) -> CouponPool:
    """A new pool from the reference's attributes. `name`, `source` and `type` are required
    (202007 / 202005 / 202009). Raises ValidationError."""
    for name, code in (("name", 202007), ("source", 202005), ("type", 202009)):
        if data.get(name) in (None, ""):
            raise _bad(f"The {name} is required", name, code)
    pool = CouponPool(value=Decimal("0"))
    fields = _checked({k: v for k, v in data.items() if not (k == "value" and v is None)}, pool)
    if data["type"] != CouponType.FREE_SHIPPING and "value" not in fields:
        raise _bad("The value must be a number", "value", 202012)
    for name, value in fields.items():
        setattr(pool, name, value)
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError:  # an external_id taken between the check and the insert
        raise _bad("The external_id must be unique", "external_id", 202031) from None
    return pool


def find_pool(reference: str, *, lock: bool = False) -> CouponPool:
    """The pool with this ID or external ID (row-locked with `lock`, inside a transaction);
    NotFound 202001 when none."""
    if "\x00" in reference:  # no ID holds one (and PostgreSQL cannot compare text with it)
        raise NotFound("Coupon Pool not found", field="coupon_pool_id", code=202001)
    pools = CouponPool.objects.select_for_update() if lock else CouponPool.objects.all()
    query = Q(external_id=reference)
    if is_digits(reference):
        query |= Q(pk=int(reference))
    pool = pools.filter(query).first()
    if pool is None:
        raise NotFound("Coupon Pool not found", field="coupon_pool_id", code=202001)
    return pool


def update_pool(pool: CouponPool, data: dict) -> tuple[CouponPool, dict]:
    """Change `pool` (row-locked by the caller, in its transaction) and decide which existing coupons
    follow a new value, by `update_method` / `update_matching`. Returns (pool, the metadata the
    reference answers with). A change of `type` of a pool that has coupons needs `update_all`
    (202044): a coupon keeps its own value but not its own type."""
    method = data.get("update_method")
    if method in (None, ""):
        raise _bad("The update_method is required", "update_method", 202033)
    if not isinstance(method, str):
        raise _bad("The update_method must be a string", "update_method", 202034)
    if method not in UPDATE_METHODS:
        raise _bad(
            f"Given update_method parameter is invalid: one of {', '.join(UPDATE_METHODS)}",
            "update_method",
            202035,
        )
    matching = data.get("update_matching", False)
    if not isinstance(matching, bool):
        raise _bad("The update_matching must be a boolean", "update_matching", 202038)
    attributes = {k: v for k, v in data.items() if k not in ("update_method", "update_matching")}
    fields = _checked(attributes, pool)
    coupons = Coupon.objects.filter(pool=pool)
    if fields.get("type", pool.type) != pool.type and method != "update_all" and coupons.exists():
        raise _bad(
            "The type of a pool that has coupons changes only with update_method update_all", "type", 202044
        )
    old_value = pool.value
    new_value = fields.get("value", old_value)
    if new_value != old_value:
        _settle_values(pool, coupons, old_value, new_value, method, matching)
    for name, value in fields.items():
        setattr(pool, name, value)
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError:
        raise _bad("The external_id must be unique", "external_id", 202031) from None
    return pool, {"update_method": method, "update_matching": matching}


def _settle_values(pool, coupons, old_value, new_value, method: str, matching: bool) -> None:
    """Freeze the old value on the coupons that do not follow; let the followers read the pool's.
    Unassigned gift cards carry their balance: a follower's balance becomes the new value."""
    follow = {
        "update_all": Q(),
        "update_none": Q(pk__in=[]),
        "update_not_redeemed": ~Q(status=C.REDEEMED),
        "update_unassigned": Q(status=C.UNASSIGNED, customer__isnull=True),
    }[method]
    if matching:  # only coupons whose value is the pool's old one follow
        follow &= Q(value__isnull=True) | Q(value=old_value)
    stay = coupons.exclude(follow)
    stay.filter(value__isnull=True).update(value=old_value)
    followers = coupons.filter(follow)
    followers.update(value=None)
    if pool.type == CouponType.GIFT_CARD:
        followers.filter(status=C.UNASSIGNED, customer__isnull=True).update(balance=new_value)
