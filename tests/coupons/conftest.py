"""The API tests of this folder use the signed API client of tests/api."""

from tests.api.conftest import api, live_key, sandbox_api  # noqa: F401  (fixtures)
