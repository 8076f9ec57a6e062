"""Small helpers shared by the engine and lifecycle tests."""

from customers.models import Customer
from events.choices import EventSource
from events.engine import register_event
from events.models import Event


def register(action, customer="Anna-1", data=None, environment="live", **kwargs):
    return register_event(environment=environment, customer=customer, action=action, data=data or {}, **kwargs)


def console(action, customer="Anna-1", data=None, **kwargs):
    """An event from the console (source platform), as the console's buttons register them."""
    return register(action, customer, data, source=EventSource.PLATFORM, **kwargs)


def enroll(customer="Anna-1", **data) -> Customer:
    return register("opt_in", customer, data).customer


def counts() -> tuple[int, int]:
    return Customer.objects.count(), Event.objects.count()


def live(customer_id: str, environment: str = "live") -> Customer:
    return Customer.objects.get(environment=environment, customer_id=customer_id, anonymized_at__isnull=True)
