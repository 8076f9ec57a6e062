"""Indexes for the console's customer list (issue 6): keyset sorting on (environment, column, id)
for every sortable column, and the filter bar's common equality filters (country, first name)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [
        migrations.AddIndex("customer", models.Index(fields=["environment", "email", "id"], name="customer_env_email_id")),
        migrations.AddIndex("customer", models.Index(fields=["environment", "spent", "id"], name="customer_env_spent")),
        migrations.AddIndex("customer", models.Index(fields=["environment", "expired", "id"], name="customer_env_expired")),
        migrations.AddIndex("customer", models.Index(fields=["environment", "first_name", "id"], name="customer_env_first_name")),
        migrations.AddIndex("customer", models.Index(fields=["environment", "country", "id"], name="customer_env_country")),
    ]
