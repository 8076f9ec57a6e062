# Repeated exports are started by dataio.tasks.run_repeated_exports every 5 minutes; expired
# export files are deleted by dataio.tasks.expire_exports hourly (django-q2 Schedules).

from django.db import migrations

from loyalty.schedules import hourly_schedule


def every_five_minutes(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="Repeated exports",
        defaults={"func": "dataio.tasks.run_repeated_exports", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="Repeated exports").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dataio", "0001_imports_exports_jobs"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.RunPython(every_five_minutes, remove),
        hourly_schedule("Expire export files", "dataio.tasks.expire_exports"),
    ]
