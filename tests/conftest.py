"""Shared fixtures: the fixed cast of console users, the program, and a clean cache per test."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection

from loyalty import configcache

CAST = {
    "administrator": "administrator",
    "program_manager": "program manager",
    "support_agent": "support agent",
    "analyst": "analyst",
    "approver": "approver",
    "nobody": None,
}
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Program and accounts are cached; a test's rolled-back rows must not leak into the next."""
    cache.clear()
    configcache.reset()
    yield
    cache.clear()
    configcache.reset()


def make_user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    if role:
        if not Group.objects.filter(name=role).exists():
            # A browser test (transactional_db) flushed the groups the data migration made.
            from loyalty.roles import sync_roles

            sync_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


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


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
