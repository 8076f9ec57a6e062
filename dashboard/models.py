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


class ActiveMember(models.Model):
    """A customer who registered an active-member event (reference-behaviour.md §5.2) on `day`:
    one row per customer and day, so "active members in a range" is a distinct count over an index
    instead of a scan of the events."""

    environment = models.CharField(max_length=10, choices=Environment.choices)
    day = models.DateField()
    customer_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "day", "customer_id"], name="active_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} customer {self.customer_id}"


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
