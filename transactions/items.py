"""Parsing the purchase attributes of checkout events (002): money, items, coupon codes.

Items arrive as a JSON list or, form-encoded (`data[items][0][price]=200`), as a dict keyed by
position; both give the same rows. Bad values raise ValidationError naming the field.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from loyalty.bounds import MONEY_MAX, QUANTITY_MAX, is_digits
from loyalty.errors import ValidationError
from loyalty.safe_urls import check_url

CENT = Decimal("0.01")
MAX_MONEY = MONEY_MAX  # one purchase, item price or subtotal
MAX_ITEMS = 500
TEXT_FIELDS = {"product_id": 200, "product_name": 300, "product_url": 500, "product_category": 200}


def parse_money(value, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be an amount.", field=field)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field} must be an amount.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        raise ValidationError(f"{field} must be an amount between 0 and {MAX_MONEY}.", field=field)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _quantity(value, field: str) -> int:
    """An item's quantity: a JSON integer or a string of ASCII digits, 0 to QUANTITY_MAX; empty: 1.
    The rule of every integer attribute (events.validation, refund_item's quantity): "1e3",
    "2.0", 2.0, " 7 " and "١٢" are refused, never read as 1000, 2 or 12."""
    if value in (None, ""):
        return 1
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and is_digits(value.removeprefix("-")):
        number = int(value)
    else:
        raise ValidationError(
            f"{field} must be a whole number (an integer or a string of ASCII digits).", field=field
        )
    if number < 0:
        raise ValidationError(f"{field} must be a whole number, 0 or more.", field=field)
    if number > QUANTITY_MAX:
        raise ValidationError(f"{field} must be at most {QUANTITY_MAX}.", field=field)
    return number


def as_list(raw, field: str) -> list:
    if raw in (None, ""):
        return []
    if isinstance(raw, dict) and all(is_digits(key) for key in raw):
        return [raw[key] for key in sorted(raw, key=lambda key: int(key))]
    if isinstance(raw, list):
        return raw
    raise ValidationError(f"{field} must be a list.", field=field)


def parse_items(raw, transaction_id: str) -> list[dict]:
    """TransactionItem field values, one dict per line."""
    rows = as_list(raw, "data.items")
    if len(rows) > MAX_ITEMS:
        raise ValidationError(f"A transaction may have at most {MAX_ITEMS} items.", field="data.items")
    items = []
    for index, row in enumerate(rows):
        path = f"data.items.{index}"
        if not isinstance(row, dict):
            raise ValidationError("Each item must be an object.", field=path)
        item_tid = row.get("transaction_id")
        if item_tid not in (None, "") and str(item_tid) != transaction_id:
            raise ValidationError(
                "The item's transaction_id differs from the transaction's.", field=f"{path}.transaction_id"
            )
        item: dict[str, Any] = {}
        for name, length in TEXT_FIELDS.items():
            value = row.get(name)
            item[name] = "" if value is None else str(value)
            if len(item[name]) > length:  # refused, never cut
                raise ValidationError(f"{name} is longer than {length} characters.", field=f"{path}.{name}")
        check_url(item["product_url"], f"{path}.product_url")
        item["quantity"] = _quantity(row.get("quantity"), f"{path}.quantity")
        item["price"] = parse_money(row.get("price") or 0, f"{path}.price")
        item["discount"] = parse_money(row.get("discount") or 0, f"{path}.discount")
        if row.get("subtotal") not in (None, ""):
            item["subtotal"] = parse_money(row["subtotal"], f"{path}.subtotal")
        else:
            item["subtotal"] = max(item["price"] * item["quantity"] - item["discount"], Decimal("0"))
            if item["subtotal"] > MAX_MONEY:
                raise ValidationError(
                    f"The item's subtotal (price x quantity) exceeds {MAX_MONEY}.", field=f"{path}.subtotal"
                )
        items.append(item)
    if sum((item["subtotal"] for item in items), Decimal("0")) > MAX_MONEY:
        raise ValidationError(f"The items add up to more than {MAX_MONEY}.", field="data.items")
    return items


def coupon_codes(data: dict) -> list[str]:
    """Coupon codes a checkout names: `coupon_code`, `coupon`, `coupon_codes` or `coupons`."""
    codes: list[str] = []
    for name in ("coupon_code", "coupon"):
        if isinstance(data.get(name), str) and data[name].strip():
            codes.append(data[name].strip())
    for name in ("coupon_codes", "coupons"):
        raw = data.get(name)
        if isinstance(raw, str):
            raw = [part for part in raw.split(",")]
        for code in as_list(raw, f"data.{name}") if raw is not None else []:
            if not isinstance(code, str):
                raise ValidationError("Coupon codes must be strings.", field=f"data.{name}")
            if code.strip():
                codes.append(code.strip())
    return list(dict.fromkeys(codes))
