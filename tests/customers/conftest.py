"""Fixtures for the customer console tests: customers enrolled through the engine."""

import pytest
from django.urls import reverse

from tests.factories import enroll, register


def profile(customer_id: str, tab: str = "overview", **kwargs) -> str:
    return reverse(f"customers:customer_{tab}", kwargs={"ref": customer_id, **kwargs})


@pytest.fixture
def anna(anna):
    """The shared Anna (tests/conftest.py) with 500 points."""
    register("point_add", anna.customer_id, {"points": 500})
    anna.refresh_from_db()
    return anna


@pytest.fixture
def enroll_customer(program):
    return enroll
