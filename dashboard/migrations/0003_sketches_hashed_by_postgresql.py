"""On PostgreSQL the active members' sketches are now hashed by the database (hashint8extended,
dashboard.rollups.REGISTERS_SQL) instead of by Python's blake2b, so sketches made before cannot be
merged with new ones. This throws the rollups away and sets the rollup state back to the start:
the next scheduled run (or `manage.py rebuild_dashboard`, faster) counts everything again.
SQLite keeps Python's hash: nothing to do there."""

from django.db import migrations


def reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Sketch = apps.get_model("dashboard", "ActiveMemberSketch")
    if not Sketch.objects.exists():
        return  # nothing hashed the old way
    Sketch.objects.all().delete()
    apps.get_model("dashboard", "DailyFigure").objects.all().delete()
    apps.get_model("dashboard", "RollupState").objects.update(
        events_done=0, events_seen=0, entries_done=0, entries_seen=0
    )


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_rollup_schedule")]
    operations = [migrations.RunPython(reset, migrations.RunPython.noop)]
