"""Shared fixtures: the fixed cast of console users, the program, Anna, and a clean cache per test.

Test data is made with tests/factories.py (factories for configuration, engine helpers for state)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection

from loyalty import configcache
from tests import factories

CAST = {
    "administrator": "administrator",
    "program_manager": "program manager",
    "support_agent": "support agent",
    "analyst": "analyst",
    "approver": "approver",
    "nobody": None,
}
PASSWORD = factories.PASSWORD


@pytest.fixture(autouse=True)
def _clean_cache():
    """Program and accounts are cached; a test's rolled-back rows must not leak into the next."""
    cache.clear()
    configcache.reset()
    yield
    cache.clear()
    configcache.reset()


def make_user(username: str, role: str | None) -> User:
    return factories.UserFactory(username=username, role=role)


@pytest.fixture
def cast(db) -> dict[str, User]:
    """One user per role, plus `nobody` (signed in, no role)."""
    return {key: make_user(key, role) for key, role in CAST.items()}


@pytest.fixture
def admin_user(cast) -> User:
    return cast["administrator"]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def program(db):
    from loyalty.models import Program

    return Program.current()


@pytest.fixture
def anna(program):
    """Anna-1 (Anna Smith, anna@example.com, DE), opted in through the engine, no points.
    A folder that needs more (points, a coupon) extends it: `def anna(anna): ...; return anna`."""
    return factories.anna()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
