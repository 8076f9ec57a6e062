"""The index of a customer's events of one action (customer, action, -id) also carries
effective_at (INCLUDE), so the segment conditions on event history probe it per customer without
reading the event rows (segments.conditions: "performed X at least N times in the last D days").
It replaces event_customer_action (one index written per event, as before).

PostgreSQL: the new index is built CONCURRENTLY before the old one is dropped CONCURRENTLY
(non-atomic migration), so a live database keeps registering events and serving the Events tab
meanwhile."""

from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = schema_editor.connection.vendor == "postgresql"
            schema_editor.add_index(model, self.index, **({"concurrently": True} if concurrently else {}))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = schema_editor.connection.vendor == "postgresql"
            schema_editor.remove_index(model, self.index, **({"concurrently": True} if concurrently else {}))


class RemoveIndexConcurrentlyOnPostgres(migrations.RemoveIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            concurrently = schema_editor.connection.vendor == "postgresql"
            schema_editor.remove_index(model, index, **({"concurrently": True} if concurrently else {}))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            concurrently = schema_editor.connection.vendor == "postgresql"
            schema_editor.add_index(model, index, **({"concurrently": True} if concurrently else {}))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("events", "0009_merge_action_history_index")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="event",
            index=models.Index(
                fields=["customer", "action", "-id"],
                include=("effective_at",),
                name="event_customer_action_time",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="event", name="event_customer_action"),
    ]
