"""The hourly django-q2 Schedule of loyalty.tasks.expire_and_activate (idempotent)."""

from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0003_lot_reserved"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [hourly_schedule("Expire and activate points", "loyalty.tasks.expire_and_activate")]
