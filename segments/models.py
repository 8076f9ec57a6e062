"""Segments (rule-based groups, materialized) and customer lists (manual membership).

- `Segment`: a condition tree (segments.conditions) or an imported static member set. Its current
  members are the `SegmentMember` rows with `left_at IS NULL` (one per customer, a partial unique
  index); rows that left stay as history (entered/left times), so workflows can react to changes.
  Only `segments.building.rebuild` and `segments.imports` write memberships.
- `CustomerList`: manual membership (`CustomerListMember`), changed only by the `customer_list_add`
  / `customer_list_remove` events (segments.lists, through events.engine.register_event).
- `BulkOperation`: a queued bulk add/remove of list members (reference-behaviour.md §2.2).

Statuses: active / inactive / archived. A list can be archived only when inactive; archiving
removes its members and cannot be undone (Antavo, "Customer lists"). An archived segment is never
rebuilt and keeps no members.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ARCHIVED = "archived", "Archived"


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (rules)"
    STATIC = "static", "Static (imported)"


class BuildStatus(models.TextChoices):
    """Where the materialized membership stands: a save queues a build (django-q2) and the page
    shows "building" until the task has run; "failed" keeps the last membership and build_error."""

    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Segment(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    conditions = models.JSONField(default=dict, blank=True, help_text="condition tree (segments.conditions)")
    member_count = models.PositiveIntegerField(default=0)
    last_built_at = models.DateTimeField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True, help_text="duration of the last build")
    build_error = models.TextField(blank=True)
    build_status = models.CharField(max_length=10, choices=BuildStatus.choices, default=BuildStatus.READY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.kind == SegmentKind.DYNAMIC


class SegmentMember(models.Model):
    # Derived rows, written only by builds and imports from customer IDs selected in the same
    # statement: no database-level foreign keys. Their deferred checks ran one query per member at
    # commit and row-locked (KEY SHARE) every member customer, which blocked engine events on those
    # customers meanwhile (measured: 200,000 members inserted in 13.6 s with the checks, 5.1 s
    # without). Deleting a segment or a customer through the ORM still deletes its memberships.
    # Indexed (its history, whole-segment deletes); appended in order by a build, so it costs little.
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_constraint=False
    )
    # No index by customer (see Meta).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One current membership per customer and segment: a rebuild racing another rebuild or
            # an import cannot duplicate one.
            models.UniqueConstraint(
                fields=["segment", "customer"],
                condition=Q(left_at__isnull=True),
                name="segment_member_current",
            )
        ]
        # No index leading with the customer: a build inserts members in customer order, and such
        # an index takes each entry at a random place among the other segments' entries (measured:
        # 200,000 members in 7.3 s with it and the customer FK index, 3.5 s without). "Is C in S" is
        # one probe of segment_member_current; "segments of C" and the opt-out and merge updates
        # probe it once per segment (segments.building.segments_of): tens of segments, not millions.

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class CustomerList(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "customer list"

    def __str__(self) -> str:
        return self.name


class CustomerListMember(models.Model):
    customer_list = models.ForeignKey(CustomerList, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField()
    event_id = models.BigIntegerField(null=True, blank=True, help_text="the customer_list_add event")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_list", "customer"], name="list_member_unique"),
        ]
        indexes = [models.Index(fields=["customer", "customer_list"], name="list_member_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in list {self.customer_list_id}"


class BulkType(models.TextChoices):
    ADD = "customer_add", "Add customers"
    REMOVE = "customer_remove", "Remove customers"


class BulkStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"


class BulkOperation(models.Model):
    """One bulk add/remove request (the reference's Bulk Operation Request Queue)."""

    batch_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=20, choices=BulkType.choices)
    customer_list = models.ForeignKey(CustomerList, on_delete=models.CASCADE, related_name="bulk_operations")
    environment = models.CharField(max_length=10, default="live")
    status = models.CharField(max_length=12, choices=BulkStatus.choices, default=BulkStatus.QUEUED)
    customers = models.JSONField(default=list, help_text="customer references, as sent")
    number_of_customers = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    number_of_errors = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=12, default="api")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return str(self.batch_id)


class BulkOperationError(models.Model):
    operation = models.ForeignKey(BulkOperation, on_delete=models.CASCADE, related_name="errors")
    position = models.PositiveIntegerField(help_text="index in the request's customers list")
    customer = models.CharField(max_length=300)
    code = models.IntegerField()
    message = models.TextField()

    class Meta:
        ordering = ["operation", "position"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.message}"


class SegmentImport(models.Model):
    """The report of one CSV import into a static segment: matched count and unmatched rows."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="imports")
    file_name = models.CharField(max_length=300, blank=True)
    rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.JSONField(default=list, help_text="[{row, value, error}] (at most 1000 kept)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"import into {self.segment_id}"
