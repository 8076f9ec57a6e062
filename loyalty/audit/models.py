"""The change log (append-only) and content-approval requests.

Rows are written only by `loyalty.audit.log.record()` (ChangeLogEntry) and by
`loyalty.audit.approval` (ChangeRequest); no signals: each console action calls them explicitly.
"""

from django.conf import settings
from django.db import models

from loyalty.choices import Environment


class AppendOnlyError(Exception):
    pass


class ChangeLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The change log is append-only.")

    def delete(self):
        raise AppendOnlyError("The change log is append-only.")


class ChangeLogEntry(models.Model):
    """One console change: who, when, what, on which customer, why, before and after."""

    created_at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    action = models.CharField(max_length=64, help_text="event action or console action, e.g. label_rename")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_repr = models.CharField(max_length=200, blank=True, help_text="what changed, when not a customer")
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ChangeLogQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["customer", "-id"], name="changelog_customer"),
            models.Index(fields=["user", "-id"], name="changelog_user"),
        ]
        verbose_name = "change"
        verbose_name_plural = "changes"

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("The change log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The change log is append-only.")


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class ChangeRequest(models.Model):
    """A manual point or event change waiting for an approver (Content approval module).

    Only an accepted request registers its event."""

    created_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    account = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="changerequest_status")]

    def __str__(self) -> str:
        return f"{self.action} for {self.customer_id} ({self.status})"
