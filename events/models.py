"""Events (immutable) and custom event definitions.

An Event row is written once by `events.engine.register_event`. The only later changes are the
three the reference documents allow, each made by one function inside `events.immutability.allow`:
points expiration date, opt-out scrubbing, merge re-assignment. Anything else raises, and on
PostgreSQL a trigger refuses it too (migration 0002).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform

from loyalty import configcache
from loyalty.choices import Environment

from .choices import AttributeType, EventSource
from .definitions import BUILTIN_ACTIONS
from .immutability import EventImmutableError, change_allowed


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not change_allowed():
            raise EventImmutableError("Events are immutable; use the documented change functions.")
        return super().update(**kwargs)

    def delete(self):
        raise EventImmutableError("Events are never deleted.")


class Event(models.Model):
    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.LIVE)
    # Indexed by event_customer_history (customer, -id): a single-column index would only repeat it.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
    )
    action = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    timestamp = models.DateTimeField(help_text="registration time")
    effective_at = models.DateTimeField(help_text="effective_timestamp, or the registration time")
    points = models.BigIntegerField(default=0)
    account = models.ForeignKey(
        "loyalty.PointAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="expiration date of the points")
    transaction_id = models.CharField(max_length=128, blank=True)
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=12, choices=EventSource.choices, default=EventSource.API)
    admin_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # event_admin_user below: most events have none
    )
    workflow_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_index=False,  # event_parent below: most events have none
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-id"], name="event_customer_history"),
            # A customer's events of one action, newest first (the Events tab's action filter),
            # carrying effective_at: segment conditions on event history probe it per customer
            # without reading the event rows ("performed X at least N times in the last D days":
            # an index-only scan of that customer's X entries; segments.conditions._at_least).
            models.Index(
                fields=["customer", "action", "-id"],
                include=["effective_at"],
                name="event_customer_action_time",
            ),
            models.Index(fields=["environment", "timestamp", "id"], name="event_env_timestamp"),
            models.Index(fields=["environment", "transaction_id"], name="event_transaction"),
            # Partial: every index is written on every event, and most events have neither.
            models.Index(
                fields=["admin_user"], condition=Q(admin_user__isnull=False), name="event_admin_user"
            ),
            models.Index(fields=["parent"], condition=Q(parent__isnull=False), name="event_parent"),
            # Segment conditions on event history ("performed X at least N times in the last D days",
            # "last X more than D days ago": segments.conditions) read one action's rows in a time
            # range and group them by customer: an index-only range scan with this covering index.
            models.Index(
                fields=["action", "effective_at"],
                include=["customer"],
                condition=Q(customer__isnull=False),
                name="event_action_history",
            ),
            # Opt-out scrubs the customer's ID from other customers' opt_in/profile events that name
            # them as referrer; this keeps that lookup off a full scan.
            models.Index(
                KeyTransform("referrer", "data"),
                condition=Q(action__in=["opt_in", "profile"]),
                name="event_referrer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert") and not change_allowed():
            raise EventImmutableError("Events are immutable; use the documented change functions.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise EventImmutableError("Events are never deleted.")

    @property
    def date(self):
        return self.effective_at.date()


class EventDefinition(models.Model):
    """A custom event (or extra attributes on a built-in one) defined in the console."""

    action = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=200)
    points = models.BigIntegerField(default=0, help_text="points awarded when registered")
    builtin_extension = models.BooleanField(default=False, help_text="extends a built-in action's attributes")
    one_time = models.BooleanField(
        default=False,
        help_text="once per customer lifetime; a repeat is refused with the reference's code 10001",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["action"]

    def __str__(self) -> str:
        return self.label or self.action

    # The engine caches definitions (events.catalog, through loyalty.configcache); a change must reach the next event.
    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result

    # Points a definition may award each time (-100 made every later event fail).
    MAX_POINTS = 10**12

    def clean(self):
        if self.points is not None and not 0 <= self.points <= self.MAX_POINTS:
            raise ValidationError({"points": "Give 0 or more points (at most 1,000,000,000,000)."})
        builtin = BUILTIN_ACTIONS.get(self.action)
        if self.builtin_extension:
            if builtin is None:
                raise ValidationError({"action": "Only a built-in action can be extended."})
            if builtin.internal:
                raise ValidationError({"action": "Internal actions cannot be extended."})
        elif builtin is not None:
            raise ValidationError({"action": "A built-in action has this name; extend it instead."})


class EventAttribute(models.Model):
    definition = models.ForeignKey(EventDefinition, on_delete=models.CASCADE, related_name="attributes")
    name = models.SlugField(max_length=64)
    type = models.CharField(max_length=10, choices=AttributeType.choices, default=AttributeType.STRING)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["definition", "name"], name="event_attribute_unique")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        configcache.changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        configcache.changed()
        return result
