"""A GIN index on the custom attributes (issue 6): on PostgreSQL the filter bar compiles equality
on a custom attribute to `custom @> {"field": value}`, which this index answers, so a rare value is
found without scanning every customer. SQLite has no GIN: nothing to do there."""

from django.db import migrations

INDEX = "customer_custom_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer USING gin (custom jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_console_indexes")]

    operations = [migrations.RunPython(create, drop)]
