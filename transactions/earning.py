"""Earning-rule arithmetic: how many points a purchase earns, and how many a refund takes back.

Pure functions over plain values (no database), so the property tests can drive them directly.
The one guarantee the handlers rely on: `take_back` never returns more than is still open, so
the points taken back from a transaction never exceed the points it earned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .choices import EarningMode, RoundingMode

_ROUNDING = {
    RoundingMode.DOWN: ROUND_FLOOR,
    RoundingMode.NEAREST: ROUND_HALF_UP,
    RoundingMode.UP: ROUND_CEILING,
}


@dataclass(frozen=True)
class Line:
    product_id: str
    category: str
    quantity: int
    subtotal: Decimal


@dataclass(frozen=True)
class Rule:
    """The figures of an EarningRule (see transactions.models), detached from the ORM."""

    mode: str = EarningMode.PER_TRANSACTION
    points_per_unit: Decimal = Decimal("1")
    rounding: str = RoundingMode.DOWN
    minimum_total: Decimal = Decimal("0")
    category_multipliers: dict = field(default_factory=dict)
    product_multipliers: dict = field(default_factory=dict)
    excluded_categories: tuple = ()
    excluded_products: tuple = ()
    first_purchase_bonus: int = 0

    @classmethod
    def from_model(cls, rule) -> Rule | None:
        if rule is None or not rule.active:
            return None
        return cls(
            mode=rule.mode,
            points_per_unit=Decimal(rule.points_per_unit),
            rounding=rule.rounding,
            minimum_total=Decimal(rule.minimum_total),
            category_multipliers=dict(rule.category_multipliers or {}),
            product_multipliers=dict(rule.product_multipliers or {}),
            excluded_categories=tuple(rule.excluded_categories or ()),
            excluded_products=tuple(rule.excluded_products or ()),
            first_purchase_bonus=int(rule.first_purchase_bonus or 0),
        )

    def weight(self, line: Line) -> Decimal:
        """0 for excluded lines; the product multiplier wins over the category one."""
        if line.product_id in self.excluded_products or line.category in self.excluded_categories:
            return Decimal("0")
        if line.product_id in self.product_multipliers:
            return Decimal(str(self.product_multipliers[line.product_id]))
        if line.category in self.category_multipliers:
            return Decimal(str(self.category_multipliers[line.category]))
        return Decimal("1")

    def round(self, value: Decimal) -> int:
        return max(int(value.quantize(Decimal("1"), rounding=_ROUNDING[RoundingMode(self.rounding)])), 0)


@dataclass(frozen=True)
class Earning:
    points: int = 0  # everything, bonus included
    line_points: tuple[int, ...] = ()  # per line (per-item mode), same order as the lines
    bonus: int = 0


def compute(rule: Rule | None, total: Decimal, lines: list[Line], *, first_purchase: bool) -> Earning:
    """Points for a purchase of `total` made of `lines` (which may be empty)."""
    if rule is None or total < rule.minimum_total or total <= 0:
        return Earning(line_points=tuple(0 for _ in lines))
    bonus = rule.first_purchase_bonus if first_purchase else 0
    rate = rule.points_per_unit
    if rule.mode == EarningMode.PER_ITEM and lines:
        per_line = tuple(rule.round(line.subtotal * rule.weight(line) * rate) for line in lines)
        return Earning(points=sum(per_line) + bonus, line_points=per_line, bonus=bonus)
    # Per transaction: the total, less excluded lines, plus the multipliers' extra; rounded once.
    basis = total
    for line in lines:
        basis += line.subtotal * (rule.weight(line) - 1)
    basis = max(basis, Decimal("0"))
    return Earning(points=rule.round(basis * rate) + bonus, line_points=tuple(0 for _ in lines), bonus=bonus)


def take_back(earned: int, accounted: int, part: Decimal, whole: Decimal) -> int:
    """Points to take back now so that, in all, the share `part / whole` of `earned` has been taken.

    `accounted` is what earlier refunds already took back (or recorded as shortfall). Rounds
    down (multiplying before dividing, so 100 of 300 takes exactly a third), a full refund takes
    back exactly what is left; never negative and never more than `earned - accounted`.
    """
    if whole <= 0 or part >= whole:
        target = earned
    elif part <= 0:
        target = 0
    else:
        target = int(
            (Decimal(earned) * Decimal(part) / Decimal(whole)).to_integral_value(rounding=ROUND_FLOOR)
        )
    return max(0, min(target, earned) - accounted)
