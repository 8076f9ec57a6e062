"""Issue 16 §5: one search box finding customers by any part of name, e-mail, ID or external ID,
case- and accent-insensitive, fast at 1M customers.

PostgreSQL: pg_trgm + unaccent, an IMMUTABLE normalizing function (unaccent itself is only STABLE,
so it cannot be indexed directly) and GIN trigram indexes over the normalized text, built
CONCURRENTLY (non-atomic migration) so a live database keeps serving. SQLite: nothing (the filter
falls back to case-insensitive LIKE; customers.search).
"""

from django.db import migrations

FUNCTIONS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE OR REPLACE FUNCTION loyalty_search_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$;
CREATE OR REPLACE FUNCTION loyalty_customer_search(first_name text, last_name text, email text, customer_id text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT loyalty_search_text(
        coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '')
        || ' ' || coalesce(customer_id, '')) $$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS loyalty_customer_search(text, text, text, text);
DROP FUNCTION IF EXISTS loyalty_search_text(text);
"""
CUSTOMER_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_search_trgm ON customers_customer "
    "USING gin (loyalty_customer_search(first_name, last_name, email, customer_id) gin_trgm_ops)"
)
EXTERNAL_ID_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS external_id_search_trgm ON customers_externalid "
    "USING gin (loyalty_search_text(value) gin_trgm_ops)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
        cursor.execute(CUSTOMER_INDEX)
        cursor.execute(EXTERNAL_ID_INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS customer_search_trgm")
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS external_id_search_trgm")
        cursor.execute(DROP_FUNCTIONS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0006_custom_field_bounds")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
