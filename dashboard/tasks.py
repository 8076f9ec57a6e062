"""django-q2 entry point: the Schedule "dashboard rollups" (every 10 minutes, created by the
migration 0002_rollup_schedule) calls update_rollups."""

from dashboard.rollups import update_rollups


def roll_up() -> dict:
    return update_rollups()
