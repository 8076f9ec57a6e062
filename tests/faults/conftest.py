"""The fault-injection suite uses the signed API client of tests/api."""

from tests.api.conftest import api, live_key  # noqa: F401  (fixtures)
