"""/healthz: 200 when the database answers, 503 when it does not (a real failed connection)."""

import copy
import json

import pytest
from django.db import connection
from django.db.utils import load_backend
from django.urls import reverse

from loyalty.console import pages as views

pytestmark = pytest.mark.django_db


def test_healthz_is_200_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.fixture
def unreachable_database(tmp_path):
    """A real connection, built like the default one, to a database that cannot be reached:
    PostgreSQL on a closed port, or an SQLite file in a directory that does not exist."""
    config = copy.deepcopy(connection.settings_dict)
    if connection.vendor == "postgresql":
        config.update({"HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {"connect_timeout": 2}})
    else:
        config.update({"NAME": str(tmp_path / "missing-dir" / "db.sqlite3"), "OPTIONS": {}})
    db = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias="unreachable")
    yield db
    db.close()


def test_healthz_is_503_when_the_database_is_unreachable(rf, unreachable_database):
    response = views.healthz(rf.get("/healthz"), db=unreachable_database)
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "error" and body["database"] == "OperationalError"


def test_database_error_names_nothing_when_healthy():
    assert views.database_error() is None
