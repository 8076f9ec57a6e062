"""Recurring django-q2 Schedules, created by data migrations (so `migrate` is the whole setup).

Each app's migration calls `hourly_schedule(name, func)`; running it twice changes nothing.
"""

from django.db import migrations


def hourly_schedule(name: str, func: str) -> migrations.RunPython:
    def create(apps, schema_editor):
        Schedule = apps.get_model("django_q", "Schedule")
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "H", "repeats": -1}
        )

    def delete(apps, schema_editor):
        apps.get_model("django_q", "Schedule").objects.filter(name=name).delete()

    return migrations.RunPython(create, delete)
