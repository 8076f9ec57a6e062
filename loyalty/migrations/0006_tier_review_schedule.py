from django.db import migrations

from loyalty.schedules import hourly_schedule


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0005_fewer_write_indexes"), ("django_q", "0018_task_success_index")]

    operations = [hourly_schedule("Review tiers", "loyalty.tasks.review_tiers")]
