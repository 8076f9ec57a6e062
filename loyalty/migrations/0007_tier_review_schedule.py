from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0006_config_generation"), ("django_q", "0018_task_success_index")]

    operations = [hourly_schedule("Review tiers", "loyalty.tasks.review_tiers")]
