from django.db import models


class WorkflowStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class TriggerType(models.TextChoices):
    EVENT = "event", "Event"
    DATE = "date", "On a date"
    HISTORICAL = "historical", "Historical events"
    SEGMENT = "segment", "Segment entered / left"


class LimitBehavior(models.TextChoices):
    """What happens to the campaign bonus that would cross a cap (reference §1.1)."""

    SOFT = "soft", "Soft limit (the last bonus is paid in full)"
    DYNAMIC = "dynamic", "Dynamic limit (the last bonus is cut to reach the cap exactly)"
    HARD = "hard", "Hard limit (a bonus that would cross the cap is refused)"


class RunStatus(models.TextChoices):
    """A run's outcome. "No action taken" is kept apart from success (reference §1.10)."""

    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCESS = "success", "Success"
    NO_ACTION = "no_action", "No action taken"
    ERROR = "error", "Error"
    INTERRUPTED = "interrupted", "Interrupted"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (
    RunStatus.SUCCESS,
    RunStatus.NO_ACTION,
    RunStatus.ERROR,
    RunStatus.INTERRUPTED,
    RunStatus.CANCELLED,
)


class TriggerState(models.TextChoices):
    """The state of an outbox row (workflows.models.PendingTrigger.state)."""

    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
