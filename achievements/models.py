"""Achievements (Talon.One, reference §7.1): definitions edited in the console (kept in process
memory); progress rows written only by `achievements.progress` inside register_event."""

from django.db import models

from loyalty import configcache

from .choices import Activation, Counts, PeriodRounding, PeriodUnit, ProgressStatus, Recurrence

API_NAME_RE = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class Achievement(models.Model):
    api_name = models.CharField("API name", max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    target = models.DecimalField(max_digits=14, decimal_places=2, help_text="events, or an amount spent")
    counts = models.CharField(max_length=20, choices=Counts.choices, default=Counts.EVENTS)
    action = models.CharField(
        max_length=100, blank=True, help_text="the action counted (for a number of events)"
    )
    period_amount = models.PositiveIntegerField(default=1)
    period_unit = models.CharField(max_length=10, choices=PeriodUnit.choices, default=PeriodUnit.MONTHS)
    period_rounding = models.CharField(
        max_length=20, choices=PeriodRounding.choices, default=PeriodRounding.NONE
    )
    recurrence = models.CharField(max_length=20, choices=Recurrence.choices, default=Recurrence.NONE)
    activation = models.CharField(max_length=20, choices=Activation.choices, default=Activation.FIRST_ACTION)
    start_date = models.DateTimeField(
        null=True, blank=True, help_text="fixed schedule: the first period starts here"
    )
    end_date = models.DateTimeField(null=True, blank=True, help_text="no progress after this date")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(target__gt=0), name="achievement_target_positive")
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result


class AchievementProgress(models.Model):
    """One customer's run (cycle) of an achievement: its window, progress and status."""

    achievement = models.ForeignKey(Achievement, on_delete=models.PROTECT, related_name="progress")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="achievement_progress"
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField(null=True, blank=True)
    progress = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    status = models.CharField(
        max_length=20, choices=ProgressStatus.choices, default=ProgressStatus.IN_PROGRESS
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-start_at", "-id"]
        # Runs are written under the customer's row lock (one writer per customer): no unique key.
        indexes = [
            models.Index(fields=["customer", "achievement", "-start_at"], name="achievement_progress_run")
        ]

    def __str__(self) -> str:
        return f"{self.progress} / {self.achievement_id} ({self.status})"
