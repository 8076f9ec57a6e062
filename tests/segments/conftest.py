"""Segment tests reuse the customer fixtures (customers enrolled through the engine)."""

from tests.customers.conftest import anna, enroll, enroll_customer  # noqa: F401
