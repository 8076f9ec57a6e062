import datetime as dt

from django.db import models


class SandboxClock(models.Model):
    """The sandbox environment's test clock, one row: the sandbox's time is the real
    time plus `offset`, which only grows (loyalty.sandbox.advance). Live never reads it."""

    offset = models.DurationField(default=dt.timedelta(0))
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sandbox clock +{self.offset}"
