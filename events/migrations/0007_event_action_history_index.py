"""The covering index of segment conditions on event history (segments.conditions).

Built with CREATE INDEX CONCURRENTLY on PostgreSQL, so an installation with millions of events keeps
registering events while it is built (a plain CREATE INDEX would block every insert meanwhile)."""

from django.conf import settings
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.add_index(model, self.index, concurrently=True)
            else:
                schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(model, self.index, concurrently=True)
            else:
                schema_editor.remove_index(model, self.index)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0008_top_level_figures_are_the_default_account"),
        ("events", "0006_event_settle_points"),
        ("loyalty", "0009_merge_0006_subledgers_0008_sandbox_clock"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(
                condition=models.Q(("customer__isnull", False)),
                fields=["action", "effective_at"],
                include=("customer",),
                name="event_action_history",
            ),
        ),
    ]
