"""The partial index of transaction lines with a discount (the profile summary's accrued discounts,
transactions.sessions.profile_summary): lines without a discount are never read.

Built with CREATE INDEX CONCURRENTLY on PostgreSQL, so an installation with millions of lines keeps
registering checkouts while it is built."""

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


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("transactions", "0003_refund_value"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="transactionitem",
            index=models.Index(
                condition=models.Q(("discount__gt", 0)),
                fields=["transaction"],
                include=("discount",),
                name="transaction_item_discounted",
            ),
        ),
    ]
