"""What the dashboard shows for one environment and date range, read from the daily rollups only.

`dashboard_figures(environment, start, end)` -> {"kpis": [Kpi], "charts": [Chart], "bucket": ...}.
Every query reads `DailyFigure` / `ActiveMemberSketch` by their (environment, metric, day) and
(environment, period, start) indexes; nothing here touches the events, ledger or customers tables.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Sum

from coupons.models import Reward
from dashboard.models import DailyFigure
from dashboard.rollups import active_members
from events.models import EventDefinition
from loyalty.charts import Chart
from loyalty.models import PointAccount, Program, Tier

CUMULATIVE = ("enrolled", "opted_out", "spendable_delta", "pending_delta")
MAX_DAYS = 366 * 3  # the longest range the form accepts
TOP_CUSTOM_EVENTS = 10


@dataclass
class Kpi:
    label: str
    value: object
    kind: str = "number"  # number | money
    hint: str = ""


def bucket_of(start: dt.date, end: dt.date) -> str:
    days = (end - start).days + 1
    return "day" if days <= 92 else "week" if days <= 400 else "month"


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def buckets(start: dt.date, end: dt.date, bucket: str) -> list[dt.date]:
    out, day = [], start
    while day <= end:
        first = _bucket_start(day, bucket)
        if not out or out[-1] != first:
            out.append(first)
        day += dt.timedelta(days=1)
    return out


def burn_value(account: PointAccount, points: int, currency: str) -> Decimal | None:
    """What `points` are worth through the account's burn rate in `currency` (else its first rate)."""
    rates = [r for r in account.burn_rates or [] if isinstance(r, dict) and r.get("points")]
    if not rates:
        return None
    rate = next((r for r in rates if r.get("currency") == currency), rates[0])
    try:
        return (
            Decimal(points) * Decimal(str(rate.get("amount", 0))) / Decimal(str(rate["points"]))
        ).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return None


class Series:
    """The range's rollup rows, summed per (metric, key, bucket)."""

    def __init__(self, environment: str, start: dt.date, end: dt.date, bucket: str):
        self.start, self.end, self.bucket = start, end, bucket
        self.labels_days = buckets(start, end, bucket)
        self.index = {day: i for i, day in enumerate(self.labels_days)}
        self.values: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(self.labels_days))
        self.amounts: dict[tuple[str, str], list[Decimal]] = defaultdict(
            lambda: [Decimal(0)] * len(self.labels_days)
        )
        rows = (
            DailyFigure.objects.filter(environment=environment, day__gte=start, day__lte=end)
            .exclude(metric="tier_members")
            .values_list("metric", "key", "day", "value", "amount")
        )
        for metric, key, day, value, amount in rows:
            i = self.index[_bucket_start(day, bucket)]
            self.values[(metric, key)][i] += value
            self.amounts[(metric, key)][i] += amount
        self.before = {
            (row["metric"], row["key"]): row["total"]
            for row in DailyFigure.objects.filter(
                environment=environment, metric__in=CUMULATIVE, day__lt=start
            )
            .values("metric", "key")
            .annotate(total=Sum("value"))
            .order_by()
        }

    def keys(self, metric: str) -> list[str]:
        found = {k for m, k in self.values if m == metric} | {k for m, k in self.before if m == metric}
        return sorted(found)

    def series(self, metric: str, key: str = "") -> list[int]:
        return list(self.values.get((metric, key), [0] * len(self.labels_days)))

    def summed(self, metric: str, keys: list[str]) -> list[int]:
        """The series of several keys added up."""
        out = [0] * len(self.labels_days)
        for key in keys:
            for i, value in enumerate(self.series(metric, key)):
                out[i] += value
        return out

    def total(self, metric: str, key: str = "") -> int:
        return sum(self.values.get((metric, key), []))

    def amount_total(self, metric: str, key: str = "") -> Decimal:
        return sum(self.amounts.get((metric, key), []), Decimal(0))

    def running(self, metric: str, key: str = "") -> list[int]:
        """The running total from the first day ever to the end of each bucket."""
        total, out = self.before.get((metric, key), 0), []
        for value in self.series(metric, key):
            total += value
            out.append(total)
        return out

    def labels(self) -> list[str]:
        return [day.isoformat() for day in self.labels_days]


def dashboard_figures(environment: str, start: dt.date, end: dt.date) -> dict:
    program = Program.current()
    bucket = bucket_of(start, end)
    s = Series(environment, start, end, bucket)
    labels = s.labels()
    period = {"day": "Day", "week": "Week starting", "month": "Month"}[bucket]
    accounts = {
        a.code: a for a in PointAccount.objects.filter(owner__isnull=True).order_by("-is_default", "code")
    }
    default = next(iter(accounts.values()), None)
    currency = program.base_currency

    active = active_members(environment, start, end)
    members_end = (s.running("enrolled") or [0])[-1] - (s.running("opted_out") or [0])[-1]

    charts = [
        Chart(
            "members",
            "Members",
            "bar",
            labels,
            [
                {"label": "Enrolled", "data": s.series("enrolled")},
                {"label": "Opted out", "data": s.series("opted_out")},
                {
                    "label": "Active members" if bucket == "day" else "Active members (sum of daily counts)",
                    "data": s.series("active_members"),
                    "type": "line",
                },
            ],
            "Enrolments and opt-outs, and the members who registered an active-member event.",
        )
    ]
    liability_sets: list[dict] = []
    kpi_liability = Kpi("Points liability", 0, hint="")
    liability_value = Decimal(0)
    has_value = False
    others = (set(s.keys("points_issued")) | set(s.keys("spendable_delta"))) - set(accounts)
    for code in [*accounts, *sorted(others)]:
        account = accounts.get(code)
        name = account.name if account else code
        charts.append(
            Chart(
                f"points-{code}",
                f"Points: {name}",
                "bar",
                labels,
                [
                    {"label": "Issued", "data": s.series("points_issued", code)},
                    {"label": "Spent", "data": s.series("points_spent", code)},
                    {"label": "Expired", "data": s.series("points_expired", code)},
                    {"label": "Subtracted", "data": s.series("points_subtracted", code)},
                ],
                "Points issued (earned and pending), spent (less spends given back), expired and subtracted.",
            )
        )
        spendable, pending = s.running("spendable_delta", code), s.running("pending_delta", code)
        liability_sets += [
            {"label": f"{name}: spendable", "data": spendable, "type": "line"},
            {"label": f"{name}: pending", "data": pending, "type": "line"},
        ]
        outstanding = (spendable[-1] if spendable else 0) + (pending[-1] if pending else 0)
        value = burn_value(account, outstanding, currency) if account else None
        if value is not None:
            liability_value += value
            has_value = True
        if account is default:
            kpi_liability.value = outstanding
            kpi_liability.hint = f"{name}, spendable + pending at the end of the range"
    charts.sort(key=lambda c: c.id != "members")
    charts.append(
        Chart(
            "liability",
            "Points liability",
            "line",
            labels,
            liability_sets,
            "Outstanding spendable and pending points at the end of each period, per account.",
        )
    )
    charts.append(_tier_chart(environment, end))
    reward_names = {str(r.pk): r.name for r in Reward.objects.only("name")}
    reward_keys = s.keys("reward_claims")
    charts.append(
        Chart(
            "rewards",
            "Reward claims and coupon redemptions",
            "bar",
            labels,
            [
                {"label": "Reward claims", "data": s.summed("reward_claims", reward_keys)},
                {"label": "Coupon redemptions", "data": s.series("coupon_redemptions")},
            ],
        )
    )
    by_reward = sorted(((s.total("reward_claims", k), k) for k in reward_keys), reverse=True)
    charts.append(
        Chart(
            "rewards-by-reward",
            "Claims by reward",
            "bar",
            [reward_names.get(k, k or "(unknown)") for _, k in by_reward],
            [{"label": "Claims", "data": [n for n, _ in by_reward]}],
        )
    )
    charts.append(
        Chart(
            "purchases",
            "Purchases and revenue from members",
            "bar",
            labels,
            [
                {"label": "Purchases", "data": s.series("purchases")},
                {
                    "label": f"Net revenue ({currency})",
                    "data": [
                        gross - refunded
                        for gross, refunded in zip(
                            s.amounts.get(("purchases", ""), [Decimal("0.00")] * len(labels)),
                            s.amounts.get(("refunds", ""), [Decimal("0.00")] * len(labels)),
                            strict=True,
                        )
                    ],
                    "type": "line",
                    "axis": "y1",
                },
            ],
            "Checkouts registered for members (guest checkouts are not counted) and their net revenue: "
            "the checkouts' totals less the refunds given back that day (week, month).",
        )
    )
    event_labels = dict(EventDefinition.objects.values_list("action", "label"))
    top = sorted(((s.total("custom_events", k), k) for k in s.keys("custom_events")), reverse=True)[
        :TOP_CUSTOM_EVENTS
    ]
    charts.append(
        Chart(
            "custom-events",
            "Top custom events",
            "bar",
            [event_labels.get(k) or k for _, k in top],
            [{"label": "Events", "data": [n for n, _ in top]}],
        )
    )
    names = {"tiers": "Tier", "rewards-by-reward": "Reward", "custom-events": "Event"}
    for chart in charts:
        chart.x_label = period if chart.labels is labels else names.get(chart.id, "")
    default_code = default.code if default else ""
    kpis = [
        Kpi("Members", members_end, hint="enrolled and not opted out at the end of the range"),
        Kpi("Enrolled", s.total("enrolled")),
        Kpi("Opted out", s.total("opted_out")),
        Kpi("Active members", active, hint="registered an active-member event in the range"),
        Kpi("Points issued", s.total("points_issued", default_code), hint=default.name if default else ""),
        Kpi("Points spent", s.total("points_spent", default_code), hint=default.name if default else ""),
        Kpi("Points expired", s.total("points_expired", default_code), hint=default.name if default else ""),
        kpi_liability,
        Kpi(
            "Liability value",
            liability_value if has_value else None,
            "money",
            "all accounts, through their burn rates",
        ),
        Kpi("Purchases", s.total("purchases")),
        Kpi(
            "Net revenue from members",
            s.amount_total("purchases") - s.amount_total("refunds"),
            "money",
            f"checkout totals {s.amount_total('purchases'):.2f} less refunds {s.amount_total('refunds'):.2f}",
        ),
        Kpi("Reward claims", sum(s.total("reward_claims", k) for k in reward_keys)),
        Kpi("Coupon redemptions", s.total("coupon_redemptions")),
    ]
    return {"kpis": kpis, "charts": charts, "bucket": bucket, "currency": currency}


def _tier_chart(environment: str, end: dt.date) -> Chart:
    """The latest tier snapshot on or before `end`."""
    day = DailyFigure.objects.filter(environment=environment, metric="tier_members", day__lte=end).aggregate(
        d=Max("day")
    )["d"]
    rows = (
        list(
            DailyFigure.objects.filter(environment=environment, metric="tier_members", day=day).values_list(
                "key", "value"
            )
        )
        if day
        else []
    )
    tiers = {
        f"{t.structure.code}/{t.code}": (t.structure.position, t.structure.name, t.threshold, t.name)
        for t in Tier.objects.select_related("structure")
    }
    rows.sort(key=lambda r: tiers.get(r[0], (0, "", 0, r[0])))
    names = [f"{tiers[key][1]}: {tiers[key][3]}" if key in tiers else key for key, _ in rows]
    return Chart(
        "tiers",
        "Tier distribution",
        "bar",
        names,
        [{"label": "Customers", "data": [value for _, value in rows]}],
        "Customers per tier, from the latest daily snapshot in the range."
        if day
        else "No tier snapshot yet.",
    )
