"""Issue 18: a daily birthday workflow selects the day's customers through its pre-filter
(`birth_date` "this day", segments.conditions: EXTRACT(MONTH ...) = m AND EXTRACT(DAY ...) = d) on
an expression index, instead of reading every customer (1M rows: ~2,700 match a day).

PostgreSQL: the index is built CONCURRENTLY (non-atomic migration), so a live database keeps
registering events meanwhile. SQLite: nothing (its EXTRACT is a Python function; small databases).
"""

from django.db import migrations

INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_birth_month_day ON customers_customer "
    "((EXTRACT(MONTH FROM birth_date)), (EXTRACT(DAY FROM birth_date)))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS customer_birth_month_day")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0009_customer_password")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
