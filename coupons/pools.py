"""Filling coupon pools: generated codes (a pattern, no ambiguous characters) or a CSV import.

Unassigned codes are pool configuration, not customer state, so these run outside the engine;
a code becomes a customer's only through the coupon_assign / reward events.
"""

from __future__ import annotations

import csv
import io
import re
import secrets

from django.db import transaction

from loyalty.errors import ValidationError

from .choices import CouponStatus, CouponType
from .models import CODE_ALPHABET, Coupon, CouponPool

MAX_GENERATE = 100_000
MAX_IMPORT = 100_000
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")


def random_code(pattern: str) -> str:
    """`?` in the pattern becomes a random unambiguous character; a pattern without `?` gets 8 appended."""
    if "?" not in pattern:
        pattern = pattern + "????????"
    return "".join(secrets.choice(CODE_ALPHABET) if char == "?" else char for char in pattern)


def _balance(pool: CouponPool):
    return pool.value if pool.type == CouponType.GIFT_CARD else None


def generate_codes(pool: CouponPool, count: int, pattern: str | None = None) -> list[str]:
    """Add `count` new unique unassigned codes to the pool; returns them."""
    pattern = pattern or pool.code_pattern or "????-????"
    if not 1 <= count <= MAX_GENERATE:
        raise ValidationError(f"Generate between 1 and {MAX_GENERATE} codes at a time.", field="count")
    if pattern.count("?") and len(CODE_ALPHABET) ** pattern.count("?") < count * 20:
        raise ValidationError(
            "The pattern has too few random characters for that many codes.", field="pattern"
        )
    if not CODE_RE.match(random_code(pattern)):
        raise ValidationError(
            "A pattern may hold letters, digits, dashes and underscores (3-64).", field="pattern"
        )
    made: list[str] = []
    with transaction.atomic():
        for _attempt in range(20):
            wanted = count - len(made)
            if wanted <= 0:
                break
            # Unique regardless of letter case: compare upper-cased.
            made_upper = {code.upper() for code in made}
            batch = {code.upper(): code for code in (random_code(pattern) for _ in range(wanted))}
            taken = {code.upper() for code in Coupon.objects.with_codes(batch).values_list("code", flat=True)}
            fresh = sorted(code for upper, code in batch.items() if upper not in taken | made_upper)
            Coupon.objects.bulk_create(
                [
                    Coupon(pool=pool, code=code, status=CouponStatus.UNASSIGNED, balance=_balance(pool))
                    for code in fresh
                ]
            )
            made.extend(fresh)
        if len(made) < count:
            raise ValidationError("Could not find enough unused codes for that pattern.", field="pattern")
    return made


def import_codes(pool: CouponPool, text: str) -> list[str]:
    """Import codes, one per row (first column; a header row `code` is skipped). All or nothing."""
    rows = list(csv.reader(io.StringIO(text)))
    codes: list[str] = []
    errors: list[str] = []
    for number, row in enumerate(rows, start=1):
        if not row or not row[0].strip():
            continue
        code = row[0].strip()
        if number == 1 and code.lower() == "code":
            continue
        if not CODE_RE.match(code):
            errors.append(f"row {number}: {code[:70]!r} is not a valid code (letters, digits, - and _, 3-64)")
        codes.append(code)
    if len(codes) > MAX_IMPORT:
        raise ValidationError(f"Import at most {MAX_IMPORT} codes at a time.", field="file")
    # Codes are unique regardless of letter case: `abc-123` and `ABC-123` are one.
    seen: dict[str, str] = {}
    for code in codes:
        if code.upper() in seen:
            first = seen[code.upper()]
            errors.append(
                f"{code!r} appears twice in the file"
                if first == code
                else f"{code!r} differs only by letter case from {first!r} in the file"
            )
        seen.setdefault(code.upper(), code)
    existing = {code.upper(): code for code in Coupon.objects.with_codes(seen).values_list("code", flat=True)}
    for upper, code in list(seen.items()):
        if upper in existing and len(errors) < 20:
            errors.append(
                f"{code!r} already exists"
                if existing[upper] == code
                else f"{code!r} differs only by letter case from the existing code {existing[upper]!r}"
            )
    if errors:
        raise ValidationError("Nothing was imported: " + "; ".join(errors[:20]) + ".", field="file")
    if not codes:
        raise ValidationError("The file holds no codes.", field="file")
    with transaction.atomic():
        Coupon.objects.bulk_create(
            [
                Coupon(pool=pool, code=code, status=CouponStatus.UNASSIGNED, balance=_balance(pool))
                for code in codes
            ]
        )
    return codes
