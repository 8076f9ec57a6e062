# The hourly rebuild of dynamic segments (segments.tasks.rebuild_segments), as a django-q2 Schedule.

from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [hourly_schedule("Rebuild segments", "segments.tasks.rebuild_segments")]
