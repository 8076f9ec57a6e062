"""Budgets and achievements counted together (events.engine.count_profile_features): their
statements go to the database with the customer's UPDATE in one round trip
(fastsql.returning_together), a budget refusal
still rolls back the achievement progress written in that round trip, and an event no definition
counts costs no statement at all."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from achievements.models import Achievement, AchievementProgress
from budgets.models import Budget, BudgetCounter
from events.choices import EventSource
from events.engine import register_event
from loyalty import fastsql
from loyalty.errors import BusinessRuleError
from loyalty.models import Program

NOW = dt.datetime(2025, 5, 14, 12, 0, tzinfo=dt.UTC)


def reg(action, **data):
    return register_event(
        environment="live", customer="ada", action=action, data=data, source=EventSource.API
    )


@pytest.fixture
def both(db):
    with time_machine.travel(NOW, tick=False):
        program = Program.objects.get_or_create()[0]
        program.budgets = program.achievements = True
        program.save()
        reg("opt_in")
        budget = Budget.objects.create(campaign="Spring", action="points_awarded", limit=15, period="daily")
        achievement = Achievement.objects.create(
            api_name="adds", title="Adds", counts="events", action="point_add", target=100
        )
        yield budget, achievement


def counter(budget):
    return BudgetCounter.objects.get(budget=budget).counter


def progress(achievement):
    return AchievementProgress.objects.get(achievement=achievement).progress


def test_both_count_and_a_refusal_rolls_back_both(both):
    budget, achievement = both
    with time_machine.travel(NOW, tick=False):
        reg("point_add", points=5)  # first run: the slow path inserts it
        reg("point_add", points=5)  # both hot paths, one round trip on PostgreSQL
        assert (counter(budget), progress(achievement)) == (10, Decimal(2))
        with pytest.raises(BusinessRuleError, match="limited to 15 per day"):
            reg("point_add", points=6)
        assert (counter(budget), progress(achievement)) == (10, Decimal(2))  # nothing half-applied
        reg("point_add", points=5)
        assert (counter(budget), progress(achievement)) == (15, Decimal(3))


def test_hot_path_statements(both):
    budget, achievement = both
    with time_machine.travel(NOW, tick=False):
        reg("point_add", points=1)
        with CaptureQueriesContext(connection) as with_both:
            reg("point_add", points=1)
        with CaptureQueriesContext(connection) as untouched:
            reg("login")  # counted by neither: not one statement of theirs
    tables = ("budgets_budgetcounter", "achievements_achievementprogress")
    ours = [q["sql"] for q in with_both.captured_queries if any(t in q["sql"] for t in tables)]
    expected = 1 if connection.vendor == "postgresql" else 2
    assert len(ours) == expected, ours
    assert not [q for q in untouched.captured_queries if any(t in q["sql"] for t in tables)]
    if connection.vendor == "postgresql":
        # They ride with the customer's UPDATE: counting costs the event no statement of its own.
        assert 'UPDATE "customers_customer"' in ours[0]
        assert not [
            q for q in with_both.captured_queries if q["sql"].startswith('UPDATE "customers_customer"')
        ]


@pytest.mark.django_db
def test_returning_together_returns_each_first_row_or_none():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE together_t (id integer PRIMARY KEY, n integer NOT NULL)")
        cursor.execute("INSERT INTO together_t (id, n) VALUES (1, 10), (2, 20)")
    rows = fastsql.returning_together(
        [
            ("UPDATE together_t SET n = n + %s WHERE id = %s RETURNING n", [1, 1]),
            ("UPDATE together_t SET n = n + %s WHERE id = %s RETURNING n", [1, 3]),  # no such row
            ("UPDATE together_t SET n = n + %s WHERE id = %s RETURNING n", [5, 2]),
        ]
    )
    assert rows == [(11,), None, (25,)]
    assert fastsql.returning_together([]) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, n FROM together_t ORDER BY id")
        assert cursor.fetchall() == [(1, 11), (2, 25)]
    # Riders (no RETURNING) run in the same round trip; their rows are not returned.
    rider = ("UPDATE together_t SET n = n * 2 WHERE id = %s", [2])
    assert fastsql.returning_together(
        [("UPDATE together_t SET n = n + %s WHERE id = %s RETURNING n", [1, 1])], [rider]
    ) == [(12,)]
    assert fastsql.returning_together([], [rider]) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, n FROM together_t ORDER BY id")
        assert cursor.fetchall() == [(1, 12), (2, 100)]
