"""PostgreSQL refuses changes to stored events, as the model does (events.immutability).

UPDATE is allowed only when the transaction-local setting `loyalty.event_change` names one of
the three documented changes (set by `events.immutability.allow`), and then only on the columns
that change may touch. DELETE is always refused. TRUNCATE (test teardown) is not affected.
SQLite has no such trigger: the model-level guard covers it.
"""

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

DROP TRIGGER IF EXISTS events_event_no_update ON events_event;
DROP TRIGGER IF EXISTS events_event_no_delete ON events_event;
CREATE TRIGGER events_event_no_update BEFORE UPDATE ON events_event
    FOR EACH ROW EXECUTE FUNCTION events_event_guard();
CREATE TRIGGER events_event_no_delete BEFORE DELETE ON events_event
    FOR EACH ROW EXECUTE FUNCTION events_event_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS events_event_no_update ON events_event;
DROP TRIGGER IF EXISTS events_event_no_delete ON events_event;
DROP FUNCTION IF EXISTS events_event_guard();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("events", "0003_event_referrer_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
