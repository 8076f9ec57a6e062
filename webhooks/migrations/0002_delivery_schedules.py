"""The webhooks' recurring tasks: the delivery sweep every minute, the log cleanup daily."""

from django.db import migrations


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="webhooks.deliver_due",
        defaults={"func": "webhooks.tasks.deliver_due", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )
    Schedule.objects.update_or_create(
        name="webhooks.cleanup",
        defaults={"func": "webhooks.tasks.cleanup", "schedule_type": "D", "repeats": -1},
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        name__in=["webhooks.deliver_due", "webhooks.cleanup"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_trusted_sites_deliveries_incoming"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(create, delete)]
