"""The immutability trigger allows a fourth documented change, `settle` (issue 13 §5): the
engine sets an event's `points`, `expires_at` and `account` to what its ledger entries changed, inside the
transaction that stores it (events.immutability.Change.SETTLE)."""

from django.db import migrations


CREATE = r"""
CREATE OR REPLACE FUNCTION events_event_guard() RETURNS trigger AS $$
DECLARE
    change text := coalesce(current_setting('loyalty.event_change', true), '');
    allowed text[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'events are never deleted (event %)', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF change = 'expiration' THEN
        allowed := ARRAY['expires_at'];
    ELSIF change = 'anonymize' THEN
        allowed := ARRAY['data', 'reason', 'user_agent', 'ip_address', 'transaction_id'];
    ELSIF change = 'merge' THEN
        allowed := ARRAY['customer_id'];
    ELSIF change = 'settle' THEN
        allowed := ARRAY['points', 'expires_at', 'account_id'];
    ELSE
        RAISE EXCEPTION 'events are immutable (event %)', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - allowed) IS DISTINCT FROM (to_jsonb(OLD) - allowed) THEN
        RAISE EXCEPTION 'a % change may not alter other columns of event %', change, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def noop(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("events", "0005_fewer_write_indexes")]

    operations = [migrations.RunPython(create, noop, elidable=False)]
