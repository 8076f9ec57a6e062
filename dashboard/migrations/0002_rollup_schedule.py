from django.db import migrations

NAME = "Dashboard rollups"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "dashboard.tasks.roll_up", "schedule_type": "I", "minutes": 10, "repeats": -1},
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_daily_rollups"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create, delete)]
