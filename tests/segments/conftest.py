"""Segment tests reuse the customer fixtures (customers enrolled through the engine) and the
signed API client."""

from tests.api.conftest import api, live_key  # noqa: F401  (fixtures)
from tests.customers.conftest import anna, enroll, enroll_customer  # noqa: F401
