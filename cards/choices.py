from django.db import models


class CardStatus(models.TextChoices):
    """Talon.One loyalty card statuses; `blocked` is permanent (set by a transfer)."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    BLOCKED = "blocked", "Blocked"
