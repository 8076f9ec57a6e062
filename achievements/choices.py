from django.db import models


class Counts(models.TextChoices):
    EVENTS = "events", "A number of events of an action"
    PURCHASE_TOTAL = "purchase_total", "A purchase milestone (total spent)"


class PeriodUnit(models.TextChoices):
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"
    MONTHS = "months", "months"
    YEARS = "years", "years"


class PeriodRounding(models.TextChoices):
    NONE = "none", "No rounding"
    END_OF_DAY = "end_of_day", "End of the day"
    END_OF_WEEK = "end_of_week", "End of the week"
    END_OF_MONTH = "end_of_month", "End of the month"


class Recurrence(models.TextChoices):
    NONE = "none", "No recurrence"
    ON_EXPIRATION = "on_expiration", "Restart when it expires"
    ON_COMPLETION = "on_completion", "Restart when it is completed"


class Activation(models.TextChoices):
    FIRST_ACTION = "first_action", "On the customer's first action"
    FIXED_SCHEDULE = "fixed_schedule", "On a fixed schedule"


class ProgressStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
