"""The hourly django-q2 Schedule of coupons.tasks.expire_coupons (idempotent)."""

from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [hourly_schedule("Expire coupons", "coupons.tasks.expire_coupons")]
