"""The hourly django-q2 Schedule that deletes idempotency records past their retention (idempotent)."""

from django.db import migrations

FUNC = "loyalty.api.tasks.cleanup_idempotency_records"
NAME = "Clean up API idempotency records"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={"func": FUNC, "schedule_type": "H", "repeats": -1})


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_api_keys_and_idempotency"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(create_schedule, delete_schedule)]
