"""The hourly django-q2 Schedule that deletes idempotency records past their retention (idempotent)."""

from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_api_keys_and_idempotency"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [
        hourly_schedule("Clean up API idempotency records", "loyalty.api.tasks.cleanup_idempotency_records")
    ]
