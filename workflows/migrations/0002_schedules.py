from django.db import migrations

SCHEDULES = [
    # name, func, schedule_type, minutes
    ("workflows: waits, dates, history, segments", "workflows.tasks.tick", "I", 1),
    ("workflows: log retention", "workflows.tasks.cleanup", "D", None),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        defaults = {"func": func, "schedule_type": kind, "repeats": -1}
        if minutes:
            defaults["minutes"] = minutes
        Schedule.objects.update_or_create(name=name, defaults=defaults)


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_workflows_campaigns_runs"), ("django_q", "0001_initial")]
    operations = [migrations.RunPython(create, delete)]
