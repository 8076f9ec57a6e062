"""Fixtures for the customer console tests: customers enrolled through the engine."""

import pytest
from django.urls import reverse

from customers.models import Customer
from events.engine import register_event


def enroll(customer_id: str, environment: str = "live", points: int = 0, **data) -> Customer:
    register_event(environment=environment, customer=customer_id, action="opt_in", data=data)
    if points:
        register_event(
            environment=environment, customer=customer_id, action="point_add", data={"points": points}
        )
    return Customer.objects.get(environment=environment, customer_id=customer_id, anonymized_at__isnull=True)


def profile(customer_id: str, tab: str = "overview", **kwargs) -> str:
    return reverse(f"customers:customer_{tab}", kwargs={"ref": customer_id, **kwargs})


@pytest.fixture
def anna(program):
    return enroll(
        "anna-1", first_name="Anna", last_name="Smith", email="anna@example.com", country="DE", points=500
    )


@pytest.fixture
def enroll_customer(program):
    return enroll
