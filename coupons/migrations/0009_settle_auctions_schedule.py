"""The django-q2 Schedule of coupons.tasks.settle_auctions: every 5 minutes, so an ended auction is
won within minutes (bids after the end are refused whenever the task runs). Idempotent."""

from django.db import migrations

NAME = "Settle auctions"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "coupons.tasks.settle_auctions", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def delete(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0008_bidding_rewards"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(create, delete)]
