"""Request and response shapes of the Events API, and the event representation used in lists."""

from __future__ import annotations

from rest_framework import serializers

from loyalty.errors import ValidationError
from loyalty.ledger.accounts import account_by_id


def event_request(payload) -> dict:
    """The event fields of a request body (JSON or form-encoded), checked for shape only:
    the engine validates the action and its attributes."""
    if not isinstance(payload, dict):
        raise ValidationError("The request body must be an object.", field=None)
    clean: dict = {}
    for name in ("customer", "external_id", "action", "account"):
        value = payload.get(name)
        if value is None or value == "":
            clean[name] = None
            continue
        if not isinstance(value, str):  # a JSON number 12345 is refused, not read as "12345"
            raise ValidationError(f"Parameter {name!r} must be a string.", field=name)
        clean[name] = value
    data = payload.get("data")
    if data is None or data == "":
        data = {}
    if not isinstance(data, dict):
        raise ValidationError("Parameter 'data' must be an object.", field="data")
    clean["data"] = data
    return clean


def event_object(event, customer_id: str | None = None) -> dict:
    account = account_by_id(event.account_id) if event.account_id else None
    return {
        "id": event.pk,
        "action": event.action,
        "label": event.label,
        "customer": customer_id
        if customer_id is not None
        else (event.customer.customer_id if event.customer_id else None),
        "date": event.effective_at.date().isoformat(),
        "timestamp": event.timestamp.isoformat(),
        "effective_at": event.effective_at.isoformat(),
        "points": event.points,
        "account": account.code if account else None,
        "expdate": event.expires_at.isoformat() if event.expires_at else None,
        "transaction_id": event.transaction_id or None,
        "source": event.source,
        "parent": event.parent_id,
        "data": event.data,
    }


# Schema description ----------------------------------------------------------------------------


class EventRequestSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text="customer ID, or the external ID's value with `external_id`")
    external_id = serializers.CharField(required=False, help_text="name of an external-ID customer field")
    action = serializers.CharField(help_text="opt_in, profile, point_add, checkout, ... or a custom event")
    account = serializers.CharField(required=False, help_text="point account (Multi-accounts module)")
    data = serializers.DictField(required=False, help_text="the action's attributes")  # type: ignore[assignment]


class BulkRequestSerializer(serializers.Serializer):
    events = EventRequestSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.DictField(), required=False)
    error = serializers.DictField(required=False)


class BulkResponseSerializer(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    total = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    dry_run = serializers.BooleanField(required=False, help_text="present (true) with ?dry_run=true")


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    customer = serializers.CharField(allow_null=True)
    date = serializers.DateField()
    timestamp = serializers.DateTimeField()
    effective_at = serializers.DateTimeField()
    points = serializers.IntegerField()
    account = serializers.CharField(allow_null=True)
    expdate = serializers.DateTimeField(allow_null=True)
    transaction_id = serializers.CharField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]
    parent = serializers.IntegerField(allow_null=True)  # type: ignore[assignment]
    data = serializers.DictField()  # type: ignore[assignment]


class EventPageSerializer(serializers.Serializer):
    """The reference's list envelope."""

    data = EventSerializer(many=True)
    prev = serializers.CharField(allow_null=True, help_text="URL of the previous page; null on the first")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page; null on the last")
