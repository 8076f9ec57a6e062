"""The dashboard's daily rollups: what the console home page reads instead of the events table.

Written only by `dashboard.rollups` (the scheduled task and the rebuild command); every figure can
be recomputed from the events and their ledger entries (`manage.py rebuild_dashboard`).
"""

from django.db import models

from loyalty.choices import Environment


class DailyFigure(models.Model):
    """One number of one day: `metric` (see dashboard.rollups.METRICS) for `key` (an account code,
    a custom event's action, a reward ID, a tier; "" for none) on `day` (the program's time zone),
    in one environment. `value` counts or sums points; `amount` sums money (purchases' revenue)."""

    environment = models.CharField(max_length=10, choices=Environment.choices)
    day = models.DateField()
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=200, blank=True)
    value = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "metric", "day", "key"], name="daily_figure_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}[{self.key}] = {self.value}"


class ActiveMemberSketch(models.Model):
    """The customers who registered an active-member event (reference-behaviour.md §5.2) on one
    day (`period` day) or in one month (`period` month, `start` its first day), as a HyperLogLog
    sketch (dashboard.sketch): "active members in a range" is the estimate of the union of the
    months inside the range and the days at its ends, never a scan of the events."""

    environment = models.CharField(max_length=10, choices=Environment.choices)
    period = models.CharField(max_length=5, choices=[("day", "Day"), ("month", "Month")])
    start = models.DateField()
    registers = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "period", "start"], name="active_sketch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.environment} {self.period} {self.start}"


class RollupState(models.Model):
    """Where the incremental rollup stands (one row, pk=1). Rows up to `*_done` are counted; rows
    up to `*_seen` existed at the previous run and are counted by the next one, so a transaction
    still open at one run (a lower id committed later) has a whole interval to commit."""

    events_done = models.BigIntegerField(default=0)
    events_seen = models.BigIntegerField(default=0)
    entries_done = models.BigIntegerField(default=0)
    entries_seen = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"events ≤ {self.events_done}, ledger entries ≤ {self.entries_done}"
