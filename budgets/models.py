"""Per-customer budgets (Talon.One profile budgets, reference §7.6): a limit on an action per
period, counted per customer (and per coupon code for coupon redemptions). Definitions are edited
in the console (kept in process memory, loyalty.configcache); counters are written only by
`budgets.enforcement` inside register_event, under the customer's row lock."""

from django.db import models

from loyalty import configcache

from .choices import BudgetAction, BudgetPeriod


class Budget(models.Model):
    campaign = models.CharField(max_length=200, help_text="the campaign (name) this budget belongs to")
    action = models.CharField(max_length=30, choices=BudgetAction.choices)
    limit = models.PositiveBigIntegerField(help_text="per customer and period (points or a number of uses)")
    period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    per_coupon = models.BooleanField(
        default=False, help_text="coupon redemptions: a separate counter per coupon code"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "action"]
        constraints = [
            models.CheckConstraint(condition=models.Q(limit__gte=0), name="budget_limit_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.get_action_display()} ≤ {self.limit} {self.period}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result


class BudgetCounter(models.Model):
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="counters")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="budget_counters"
    )
    period_start = models.DateField(help_text="first day of the period, in the program's time zone")
    coupon_code = models.CharField(max_length=200, blank=True)
    counter = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "budget_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "budget", "period_start", "coupon_code"], name="one_budget_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.counter} of budget {self.budget_id}"
